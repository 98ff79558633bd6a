import Testing

@testable import SpaceportDashboard

@Suite("Text measured in terminal columns, and made safe for the terminal")
struct ColumnsTests {
    @Test("ASCII takes one column, CJK and emoji two, combining marks none")
    func widths() {
        #expect(Columns.width(of: "servicea") == 8)
        #expect(Columns.width(of: "日本語") == 6)
        #expect(Columns.width(of: "e\u{301}") == 1)
        #expect(Columns.width(of: "🚀") == 2)
        #expect(Columns.width(of: "❤\u{FE0F}") == 2)
        #expect(Columns.width(of: "a\u{200B}b") == 2)
        #expect(Columns.width(of: "→✓─") == 3)
    }

    @Test("clipping never splits a wide character and ends with an ellipsis")
    func clipping() {
        #expect(Columns.clip("日本語のパス", to: 6) == "日本…")
        #expect(Columns.clip("日本語", to: 6) == "日本語")
        #expect(Columns.clip("abcdef", to: 4) == "abc…")
        #expect(Columns.fit("日本", to: 5) == "日本 ")
        #expect(Columns.fit("ab", to: 4, alignRight: true) == "  ab")
    }

    @Test("control characters, DEL, C1 controls and bidi overrides become visible escapes")
    func sanitizing() {
        #expect(Sanitized.line("/a\u{1B}[31mred") == "/a\\x1B[31mred")
        #expect(Sanitized.line("a\u{7F}b\u{9B}c") == "a\\x7Fb\\x9Bc")
        #expect(Sanitized.line("x\u{202E}y") == "x\\u{202E}y")
        #expect(Sanitized.line("line\nnext\r") == "line\\x0Anext\\x0D")
        #expect(Sanitized.line("日本 ok") == "日本 ok")
    }

    @Test("a wide character on the canvas takes two cells, and half-overwriting it blanks the rest")
    func canvasWide() {
        var canvas = GridCanvas(width: 6, height: 1)
        #expect(canvas.write("日本x", x: 0, y: 0, role: .normal) == 5)
        #expect(canvas.line(0) == "日本x ")
        canvas.write("a", x: 1, y: 0, role: .normal)
        #expect(canvas.line(0) == " a本x ")
        var narrow = GridCanvas(width: 3, height: 1)
        narrow.write("a日本", x: 0, y: 0, role: .normal)
        #expect(narrow.line(0) == "a… ")
    }

    @Test("the canvas never stores a control character, whatever it is asked to draw")
    func canvasRefusesControls() {
        var canvas = GridCanvas(width: 10, height: 1)
        canvas.write("a\u{1B}b\u{7}c", x: 0, y: 0, role: .normal)
        #expect(canvas.line(0).unicodeScalars.allSatisfy { !Sanitized.isUnsafe($0) })
        #expect(canvas.text == "a?b?c")
    }

    @Test("the ranges measured without a property lookup hold no mark, format or wide character")
    func fastRanges() {
        for range in [0x2010...0x2027, 0x2190...0x21FF, 0x2500...0x25FC] {
            for value in range {
                guard let scalar = Unicode.Scalar(UInt32(value)) else { continue }
                let category = scalar.properties.generalCategory
                #expect(
                    ![.nonspacingMark, .enclosingMark, .format].contains(category),
                    "U+\(String(value, radix: 16))")
                // So the general rule (a mark or format is 0, a wide one 2, the rest 1) gives 1 too.
                #expect(!Columns.isWide(UInt32(value)), "U+\(String(value, radix: 16))")
            }
        }
    }

    @Test("printable ASCII is measured, cut and drawn by its bytes exactly as by its graphemes")
    func asciiFastPath() {
        let texts = ["", " ", "GET /small 200 1.2 ms", String(repeating: "x", count: 300), "a~b!c"]
        for text in texts {
            #expect(Columns.width(of: text) == text.reduce(0) { $0 + Columns.width(of: $1) })
            for columns in [0, 1, 5, 40] {
                #expect(Columns.prefix(text, columns) == String(text.prefix(columns)))
            }
            var canvas = GridCanvas(size: Size(width: 50, height: 1))
            #expect(canvas.write(text, x: 0, y: 0, role: .normal) == min(50, text.count))
            #expect(canvas.line(0) == Columns.fit(text, to: 50))
        }
    }
}
