import Foundation
import SpaceportCore
import Testing

/// What the command line says when it is used wrongly: one `spaceport: error:` line, and for a
/// wrong command line at most one line more naming the help to read.
@Suite("Errors from the command line, in one format")
struct CLIErrorTests {
    @Test(
        "a wrong command line is one error line and one line of hint, with the usage exit code",
        arguments: [
            (["route"], "missing expected argument '<url>'", "see 'spaceport route --help'"),
            (
                ["dash", "--theme", "neon"],
                "there is no theme 'neon'; themes: dark, light, monochrome (add your own as /nowhere/spaceport/themes/NAME.theme)",
                "see 'spaceport dash --help'"
            ),
            (
                ["demo", "--theme", "neon"],
                "there is no theme 'neon'; themes: dark, light, monochrome (add your own as /nowhere/spaceport/themes/NAME.theme)",
                "see 'spaceport demo --help'"
            ),
            (
                ["dash", "--name", "Bad Name"],
                "--name: 'Bad Name' may hold only lowercase letters, digits and '-' (a DNS label)",
                "see 'spaceport dash --help'"
            ),
            (
                ["demo", "--name", "Bad Name"],
                "--name: 'Bad Name' may hold only lowercase letters, digits and '-' (a DNS label)",
                "see 'spaceport demo --help'"
            ),
            (
                ["proxy", "--ingress", "8080"],
                "--ingress: '8080' is not an address: expected HOST:PORT, for example 127.0.0.1:5001",
                "see 'spaceport proxy --help'"
            ),
            (
                ["servicx"], "'servicx' is not a spaceport command; did you mean service?",
                "see 'spaceport --help'"
            ),
            (
                ["tial", "--json"], "'tial' is not a spaceport command; did you mean tail?",
                "see 'spaceport --help'"
            ),
            (["xyzzy"], "'xyzzy' is not a spaceport command", "see 'spaceport --help'"),
            (
                ["space", "crate", "alice"], "'crate' is not a spaceport space command; did you mean create?",
                "see 'spaceport space --help'"
            ),
            (["tree", "--bogus"], "unknown option '--bogus'", "see 'spaceport tree --help'"),
        ])
    func usageErrors(arguments: [String], message: String, hint: String) throws {
        let space = try Workspace()
        defer { space.remove() }
        _ = try space.run("init")
        let run = try space.run(arguments, shell: "XDG_CONFIG_HOME=/nowhere exec \"$0\" \"$@\"")
        #expect(run.status == 64, "\(run)")
        #expect(run.stdout.isEmpty)
        #expect(run.stderr == "spaceport: error: \(message)\n\(hint)\n")
    }

    @Test("a failure while running is one error line too, and --help stays argument-parser's manual")
    func runtimeErrorsAndHelp() throws {
        let space = try Workspace()
        defer { space.remove() }
        let tail = try space.run(
            ["tail", "--feed", "nope"], shell: "XDG_RUNTIME_DIR=\(space.folder.path) exec \"$0\" \"$@\"")
        #expect(tail.status == 1)
        #expect(
            tail.stderr
                == "spaceport: error: no proxy feed answered: no feed socket at \(space.folder.path)/spaceport/nope.sock; start one with `spaceport proxy`\n"
        )
        let help = try space.run("route", "--help")
        #expect(help.status == 0)
        #expect(
            help.stdout.hasPrefix("OVERVIEW: Explain how the proxy would route a request, sending nothing."))
        #expect(help.stdout.contains("USAGE: spaceport route"))
        #expect(help.stderr.isEmpty)
    }

    @Test("dash --attach with a feed that is not there names what it tried, and no option dash lacks")
    func attachMissingFeed() async throws {
        let binary = try BuiltSpaceport.require()
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let terminal = Tmux(socket: folder.path("tmux.sock"))
        defer { terminal.killServer() }
        let exitFile = folder.path("exit-status")
        let errors = folder.path("stderr")
        try terminal.start(
            command:
                "env XDG_RUNTIME_DIR=\(folder.path("run")) \(binary) dash --attach nope 2> \(errors); echo $? > \(exitFile)",
            width: 100, height: 30)
        try await eventually("dash to end", terminal: terminal) {
            FileManager.default.fileExists(atPath: exitFile)
        }
        let message = try String(contentsOfFile: errors, encoding: .utf8)
        #expect(
            message
                == "spaceport: error: no proxy feed answered: no feed socket at \(folder.path("run"))/spaceport/nope.sock; start one with `spaceport proxy`\n"
        )
        #expect(!message.contains("--feed"))
        #expect(try String(contentsOfFile: exitFile, encoding: .utf8) == "1\n")
    }

    @Test("the demo on a terminal curses cannot draw on points at its own --headless")
    func demoOnDumbTerminal() throws {
        let space = try Workspace()
        defer { space.remove() }
        let run = try space.run(
            ["demo", "--ingress", "127.0.0.1:0"],
            shell: "TERM=dumb XDG_RUNTIME_DIR=\(space.folder.path) exec \"$0\" \"$@\"")
        #expect(run.status == 1)
        #expect(
            run.stderr
                == "spaceport: error: TERM=dumb cannot draw the dashboard; run it in a full terminal, or run `spaceport demo --headless` to print hops as plain text\n"
        )
    }

    @Test(
        "the file demo --write leaves says the demo's ports answer only while it runs, and how to point them elsewhere"
    )
    func demoWriteHeader() async throws {
        let space = try Workspace()
        defer { space.remove() }
        let demo = try space.start(
            ["demo", "--headless", "--no-traffic", "--ingress", "127.0.0.1:0", "--write", "demo.yaml"],
            shell: "XDG_RUNTIME_DIR=\(space.folder.path) exec \"$0\" \"$@\"")
        let deadline = ContinuousClock.now + .seconds(60)
        while (try? space.text("demo.yaml")) == nil && ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(50))
        }
        demo.interrupt()
        let run = space.finish(demo)
        #expect(run.status == 0, "\(run)")
        let text = try space.text("demo.yaml")
        #expect(
            text.hasPrefix(
                """
                # Written by `spaceport demo --write`. The upstreams are where that demo's services
                # listened, and nothing answers there once it stops (a new demo starts its own, on
                # other ports when these are taken). Point them at your own services with
                # `spaceport service set SPACE SERVICE --upstream HOST:PORT`.

                """))
        #expect(!text.contains("run the demo again"))
        #expect(try SpacesFile.parse(text: text, file: "demo.yaml").contains("hotfix"))
    }
}
