/// The one label every logger of Spaceport carries, whichever module logs: a team's log
/// pipeline filters on it.
public enum SpaceportLog {
    public static let label = "spaceport"
}
