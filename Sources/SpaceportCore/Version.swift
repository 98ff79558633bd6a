public enum SpaceportVersion {
    public static let current = "0.1.0"
}
