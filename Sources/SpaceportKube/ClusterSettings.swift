import SpaceportCore

/// The settings a spaces file holds (route header, domain, default space, limits,
/// propagation…), kept on a cluster in a ConfigMap under the key `settings.yaml`, written
/// as a spaces file's top-level keys without `spaces:` and read by the same parser.
public enum ClusterSettings {
    public static let dataKey = "settings.yaml"
    public static let defaultName = "spaceport-settings"
    /// Where the manifests put the proxy, when it runs outside the cluster and no namespace is named.
    public static let defaultNamespace = "spaceport"

    /// `NS/NAME` from `--settings-configmap`, else `spaceport-settings` in the proxy's namespace.
    public static func location(flag: String?, access: ClusterAccess) throws(KubeError) -> (
        namespace: String, name: String
    ) {
        guard let flag else {
            let namespace = access.context == nil ? access.namespace ?? defaultNamespace : defaultNamespace
            return (namespace, defaultName)
        }
        let parts = flag.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 2, Names.isValid(parts[0]), !parts[1].isEmpty else {
            throw .badField(
                "--settings-configmap", in: "the command line", path: "spaceport",
                problem: "is '\(flag)'; write NAMESPACE/NAME, as spaceport/spaceport-settings")
        }
        return (parts[0], parts[1])
    }

    /// The ConfigMap's settings; defaults when it does not exist.
    public static func read(client: KubeClient, namespace: String, name: String) async throws(KubeError) -> (
        settings: Settings, found: Bool
    ) {
        guard let map = try await client.configMap(namespace: namespace, name: name) else {
            return (Settings(), false)
        }
        guard let text = map.data?[dataKey] else { return (Settings(), true) }
        do {
            return (
                try SpacesFile.parseSettings(text: text, file: "configmap/\(namespace)/\(name)/\(dataKey)"),
                true
            )
        } catch {
            throw .settings(configMap: "\(namespace)/\(name)", problem: error.description)
        }
    }
}
