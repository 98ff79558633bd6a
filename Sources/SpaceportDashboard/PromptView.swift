/// The small dialogs: a prompt being typed, a yes/no question, a message.
enum PromptView {
    static func drawPrompt(_ prompt: Prompt, hint: String, glyphs: Glyphs, on canvas: inout some Canvas) {
        let width = canvas.size.width
        let question = Formatting.wrap(prompt.question, width: max(1, width - 4))
        var lines = question.map { Line([($0, .dialog)]) }
        lines.append(Line([("> ", .titleFocused), (Sanitized.line(prompt.text), .prompt), ("_", .prompt)]))
        if let problem = prompt.problem {
            lines += Formatting.wrap(problem, width: max(1, width - 4)).map { Line([($0, .invalid)]) }
        } else {
            lines.append(Line([(hint, .muted)]))
        }
        let height = min(lines.count + 2, canvas.size.height - 1)
        let rect = Rect(x: 0, y: canvas.size.height - 1 - height, width: width, height: height)
        Dialog.draw(title: "", lines: lines, in: rect, scroll: 0, role: .dialog, glyphs: glyphs, on: &canvas)
    }

    static func drawMessage(
        _ text: String, isError: Bool, hint: String, glyphs: Glyphs, on canvas: inout some Canvas
    ) {
        let bounds = Rect(x: 0, y: 0, width: canvas.size.width, height: canvas.size.height - 1)
        let width = min(bounds.width, 64)
        var lines = Formatting.wrap(text, width: max(1, width - 4)).map {
            Line([($0, isError ? .error : .dialog)])
        }
        lines.append(Line())
        lines.append(Line([(hint, .muted)]))
        let rect = Dialog.centred(width: width, height: lines.count + 2, in: bounds)
        Dialog.draw(
            title: isError ? "Problem" : "Question", lines: lines, in: rect, scroll: 0, role: .dialog,
            glyphs: glyphs,
            on: &canvas)
    }
}
