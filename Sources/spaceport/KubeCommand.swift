import ArgumentParser
import SpaceportApp
import SpaceportCore
import SpaceportFeed

struct KubeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kube",
        abstract: "Run Spaceport on a Kubernetes cluster.",
        subcommands: [KubeManifestsCommand.self])
}

struct KubeManifestsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "manifests",
        abstract:
            "Print the manifests that run the proxy in a cluster: spaceport kube manifests | kubectl apply -f -",
        discussion: """
            A Namespace, a ServiceAccount, a ClusterRole that may get, list and watch namespaces \
            and get, list, watch and patch services (and a Role that may get the settings \
            ConfigMap), their bindings, the ConfigMap spaceport-settings (the settings of a spaces \
            file, key settings.yaml), a Secret with the feed's and the admin listener's tokens, a \
            Deployment of `spaceport proxy --kube` (non-root, read-only, probed on /readyz and \
            /healthz), its Service and an Ingress for *.<domain>. Each run makes new tokens unless \
            --feed-token-file names one; read the one applied with \
            kubectl -n spaceport get secret spaceport-tokens -o jsonpath='{.data.feed-token}' | base64 -d
            """)

    @Option(help: "The namespace the proxy runs in.")
    var namespace = KubeManifests.defaultNamespace

    @Option(help: "The domain of the ingress host forms, and of the Ingress's *.<domain> rule.")
    var domain = Settings().domain

    @Option(
        help: ArgumentHelp(
            "The space a request that names none is routed as; it must then be a labelled namespace (default: default, when there is one).",
            valueName: "space"))
    var defaultSpace: String?

    @Option(help: "The image to run, as the repository's Dockerfile builds it.")
    var image = KubeManifests.defaultImage

    @Option(help: "The port of the proxy's TCP feed, in the pod and on its Service.")
    var feedPort = KubeManifests.defaultFeedPort

    @Option(
        help: ArgumentHelp(
            "A file holding the feed's token, readable by you alone, for the Secret (default: a new one).",
            valueName: "file"))
    var feedTokenFile: String?

    func validate() throws {
        if let problem = Names.problem(with: namespace) {
            throw CommandFailure.usage("--namespace '\(namespace)' is not a namespace name: \(problem)")
        }
        if let defaultSpace, let problem = Names.problem(with: defaultSpace) {
            throw CommandFailure.usage("--default-space '\(defaultSpace)' is not a space name: \(problem)")
        }
        let labels = domain.lowercased().split(separator: ".", omittingEmptySubsequences: false)
        guard labels.allSatisfy({ Names.isValid(String($0)) }) else {
            throw CommandFailure.usage(
                "--domain '\(domain)' is not a DNS name such as localhost or dev.example.com")
        }
        let taken = [KubeManifests.defaultIngressPort, KubeManifests.defaultAdminPort]
        guard (1...65535).contains(feedPort), !taken.contains(feedPort) else {
            throw CommandFailure.usage(
                "--feed-port \(feedPort) is not a free port: give one from 1 to 65535 but \(taken.map(String.init).joined(separator: " and "))"
            )
        }
    }

    func run() throws {
        var settings = Settings()
        settings.domain = domain.lowercased()
        if let defaultSpace { settings.defaultSpace = defaultSpace }
        let token: String
        do {
            token =
                try feedTokenFile.map { file throws(FeedTokenError) in try FeedToken.read(file: file) }
                ?? FeedToken.generate()
        } catch {
            throw CommandFailure.report(error.description)
        }
        let manifests = KubeManifests(
            namespace: namespace, settings: settings, image: image, feedPort: feedPort, feedToken: token)
        do {
            print(try manifests.yaml(), terminator: "")
        } catch {
            throw CommandFailure.report("cannot write the manifests: \(error)")
        }
    }
}
