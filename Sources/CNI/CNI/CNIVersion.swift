/// CNI spec versions this plugin speaks.
public enum CNIVersion {
    public static let supported = ["0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"]
}
