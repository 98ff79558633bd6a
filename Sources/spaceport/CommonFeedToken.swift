import ArgumentParser
import SpaceportFeed

/// Where a command takes a tcp:// feed's token from: a file only you can read, else
/// $SPACEPORT_FEED_TOKEN. Never an argument, which `ps` shows every local user.
struct FeedTokenSource {
    /// The option naming the file (`--token-file`), and the refused one (`--token`).
    var fileFlag: String
    var flag: String
    var file: String?
    var onCommandLine: String?

    /// A token written on the command line ends the command with how to give it instead.
    func refuseCommandLine() throws {
        guard onCommandLine != nil else { return }
        throw CommandFailure.usage(FeedTokenError.onCommandLine(flag: flag, fileFlag: fileFlag).description)
    }

    /// Whether a token is at hand without reading it yet.
    var isGiven: Bool {
        file != nil || FeedToken.fromEnvironment() != nil
    }

    /// The token, or nil when neither the file nor the environment gives one; a file that
    /// will not do (open to others, not yours, empty) ends the command with why.
    func token() throws -> String? {
        do {
            return try FeedToken.resolve(file: file)
        } catch {
            throw CommandFailure.report(error.description)
        }
    }
}

/// `--token-file`, as the commands that attach to feeds (`tail`, `dash --attach`) take it.
struct AttachTokenOptions: ParsableArguments {
    @Option(
        name: .customLong("token-file"),
        help: ArgumentHelp(
            "A file holding the token for tcp:// feeds, readable by you alone (default: $SPACEPORT_FEED_TOKEN).",
            valueName: "file"))
    var file: String?

    @Option(name: .customLong("token"), help: ArgumentHelp(visibility: .private))
    var onCommandLine: String?

    var source: FeedTokenSource {
        FeedTokenSource(fileFlag: "--token-file", flag: "--token", file: file, onCommandLine: onCommandLine)
    }

    func validate() throws { try source.refuseCommandLine() }

    /// Refuses tcp:// targets when no token is at hand.
    func check(_ targets: [FeedTarget]) throws {
        guard targets.contains(where: \.isTCP), !source.isGiven else { return }
        throw CommandFailure.usage(
            "tcp:// feeds need a token: pass --token-file FILE (the proxy says where it wrote its own) or set \(FeedToken.environmentVariable)"
        )
    }
}
