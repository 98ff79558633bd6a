import ArgumentParser
import SpaceportApp

/// `--theme`, as `dash` and `demo` take it: a theme that is not there is refused before anything starts.
enum ThemeOption {
    /// Checks `flag`, or $SPACEPORT_THEME when it is nil.
    static func check(_ flag: String?) throws {
        do {
            _ = try DashboardSession.chooseTheme(flag: flag)
        } catch {
            throw ValidationError(error.description)
        }
    }
}
