import Foundation
import SpaceportCore
import SpaceportKube
import SpaceportKubeTestSupport
import SpaceportTestSupport
import Testing

@Suite("Credentials as kubectl finds them", .serialized)
struct CredentialsTests {
    @Test("a token rotated on disk is used on the next request")
    func rotatedTokenFile() async throws {
        let folder = temporaryFolder("tok")
        let tokenFile = "\(folder)/token"
        try "first-token\n".write(toFile: tokenFile, atomically: true, encoding: .utf8)
        let fixture = try await KubeFixture.start(user: "tokenFile: \(tokenFile)")
        defer { Task { await fixture.api.stop() } }
        fixture.api.accept(token: "first-token")
        fixture.seed()
        let spaces = try await ClusterSpaces.start(source: try fixture.source())
        #expect(fixture.api.requests.allSatisfy { $0.token == "first-token" })
        try "second-token\n".write(toFile: tokenFile, atomically: true, encoding: .utf8)
        fixture.api.accept(token: "second-token")
        fixture.api.revoke(token: "first-token")
        try await eventually("the namespaces watch to be open") { fixture.api.openWatches(.namespaces) == 1 }
        fixture.api.dropWatches(.namespaces)
        try await eventually("a watch with the new token") {
            fixture.api.watches(of: .namespaces).last?.token == "second-token"
        }
        #expect(fixture.api.watches(of: .namespaces).count == 2, "no request was refused on the way")
        fixture.api.putNamespace("erin", labels: ["azds.io/space": "true"])
        try await eventually("erin to be a space") { spaces.store.tree.contains("erin") }
        await spaces.stop()
    }

    @Test("inside a pod: the service account's token, CA and namespace, and the token re-read as it rotates")
    func inCluster() async throws {
        let fixture = try await KubeFixture.start()
        defer { Task { await fixture.api.stop() } }
        fixture.seed()
        let account = temporaryFolder("sa")
        try fixture.api.certificates.caPEM.write(
            toFile: "\(account)/ca.crt", atomically: true, encoding: .utf8)
        try "pod-token-1".write(toFile: "\(account)/token", atomically: true, encoding: .utf8)
        try "spaceport".write(toFile: "\(account)/namespace", atomically: true, encoding: .utf8)
        fixture.api.accept(token: "pod-token-1")
        let access = try ClusterAccess.find(
            kubeconfig: nil, context: nil,
            environment: [
                "KUBERNETES_SERVICE_HOST": "127.0.0.1", "KUBERNETES_SERVICE_PORT": String(fixture.api.port),
            ],
            serviceAccountFolder: account)
        #expect(access.server == fixture.api.server)
        #expect(access.namespace == "spaceport")
        #expect(access.summary == "in-cluster on \(fixture.api.server)")
        let client = KubeClient(access: access)
        #expect(try await client.list(Namespace.self).items.count == 4)
        try "pod-token-2".write(toFile: "\(account)/token", atomically: true, encoding: .utf8)
        fixture.api.accept(token: "pod-token-2")
        fixture.api.revoke(token: "pod-token-1")
        #expect(try await client.list(Service.self).items.count == 3)
        #expect(fixture.api.requests.last?.token == "pod-token-2")
        await client.shutdown()
    }

    @Test("an exec plugin supplies the token, is asked again once it expires, and again after a 401")
    func execPlugin() async throws {
        let fixture = try await KubeFixture.start(
            user: """
                exec:
                  apiVersion: client.authentication.k8s.io/v1
                  command: ./credential.sh
                  args: ["--cluster", "stand-in"]
                  env:
                  - name: PLUGIN_GREETING
                    value: hello
                  interactiveMode: Never
                """)
        defer { Task { await fixture.api.stop() } }
        // Named relative to the kubeconfig, beside it. Counts its runs; run N's token is exec-token-N, for 2 seconds.
        let folder = fixture.folder
        let script = "\(folder)/credential.sh"
        try """
        #!/bin/sh
        count=$(cat "\(folder)/runs" 2>/dev/null || echo 0)
        count=$((count + 1))
        echo "$count" > "\(folder)/runs"
        printf '%s' "$KUBERNETES_EXEC_INFO" > "\(folder)/exec-info"
        printf '%s' "$PLUGIN_GREETING $*" > "\(folder)/greeting"
        expires=$(date -u -d '+2 seconds' +%Y-%m-%dT%H:%M:%SZ)
        printf '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"exec-token-%s","expirationTimestamp":"%s"}}\\n' "$count" "$expires"
        """.write(toFile: script, atomically: true, encoding: .utf8)
        chmod(script, 0o755)
        let runs = {
            (try? String(contentsOfFile: "\(fixture.folder)/runs", encoding: .utf8))?.trimmingCharacters(
                in: .whitespacesAndNewlines)
        }
        for token in ["exec-token-1", "exec-token-2", "exec-token-4"] { fixture.api.accept(token: token) }
        fixture.seed()
        let client = KubeClient(access: try fixture.access())
        #expect(try await client.list(Namespace.self).items.count == 4)
        #expect(try await client.list(Service.self).items.count == 3)
        #expect(runs() == "1", "the token is kept while it is valid")
        let info = try String(contentsOfFile: "\(fixture.folder)/exec-info", encoding: .utf8)
        #expect(info.contains("\"apiVersion\":\"client.authentication.k8s.io/v1\""))
        #expect(info.contains("\"kind\":\"ExecCredential\""))
        #expect(
            try String(contentsOfFile: "\(fixture.folder)/greeting", encoding: .utf8)
                == "hello --cluster stand-in")
        try await Task.sleep(for: .milliseconds(2500))
        #expect(try await client.list(Namespace.self).items.count == 4)
        #expect(runs() == "2")
        #expect(fixture.api.requests.last?.token == "exec-token-2")
        // The cluster stops taking token 2 before it expires: a 401 asks the plugin again (3, refused), once.
        fixture.api.revoke(token: "exec-token-2")
        await #expect(throws: KubeError.self) { try await client.list(Namespace.self) }
        #expect(runs() == "3")
        #expect(
            try await client.list(Namespace.self).items.count == 4,
            "the next request asks again and gets token 4")
        #expect(runs() == "4")
        await client.shutdown()
    }

    @Test("a plugin that fails says which user, which command, and what it printed")
    func execFailure() async throws {
        let folder = temporaryFolder("exec")
        let config = """
            apiVersion: v1
            kind: Config
            current-context: cloud
            clusters:
            - name: c
              cluster: {server: "https://127.0.0.1:1"}
            contexts:
            - name: cloud
              context: {cluster: c, user: sso}
            users:
            - name: sso
              user:
                exec:
                  apiVersion: client.authentication.k8s.io/v1
                  command: /bin/sh
                  args: ["-c", "echo 'token expired: run cloud login' >&2; exit 3"]
                  installHint: install the cloud CLI
            """
        try config.write(toFile: "\(folder)/config", atomically: true, encoding: .utf8)
        let client = KubeClient(access: try ClusterAccess.find(kubeconfig: "\(folder)/config", context: nil))
        do {
            _ = try await client.list(Namespace.self)
            Issue.record("a failing plugin gave a token")
        } catch {
            #expect(
                error.description
                    == "\(folder)/config: user 'sso''s credential plugin '/bin/sh' exited with status 3: token expired: run cloud login; install the cloud CLI"
            )
        }
        await client.shutdown()
    }

    @Test(
        "a client certificate and key from the kubeconfig sign in where the server asks for one; without them the handshake fails"
    )
    func clientCertificate() async throws {
        let api = try await StandInAPIServer.start(tokens: [], clientCertificates: true)
        defer { Task { await api.stop() } }
        api.putNamespace("default", labels: ["azds.io/space": "true"])
        let folder = temporaryFolder("cert")
        try api.certificates.clientKeyPEM.write(
            toFile: "\(folder)/client.key", atomically: true, encoding: .utf8)
        let certificate = Data(api.certificates.clientCertificatePEM.utf8).base64EncodedString()
        let withCertificate = try api.kubeconfig(
            in: folder, user: "client-certificate-data: \(certificate)\nclient-key: client.key")
        let client = KubeClient(access: try ClusterAccess.find(kubeconfig: withCertificate, context: nil))
        #expect(
            try await client.list(Namespace.self, labelSelector: "azds.io/space=true").items.map(
                \.metadata.name) == ["default"])
        #expect(api.requests.last?.token == nil, "the certificate alone signed in")
        await client.shutdown()
        let bare = temporaryFolder("cert")
        let without = KubeClient(
            access: try ClusterAccess.find(kubeconfig: try api.kubeconfig(in: bare, user: "{}"), context: nil)
        )
        do {
            _ = try await without.list(Namespace.self)
            Issue.record("a client without a certificate was let in")
        } catch {
            #expect(api.requests.count == 1, "nothing reached the server without a certificate: \(error)")
        }
        await without.shutdown()
    }

    @Test("a certificate the kubeconfig's CA did not sign is refused")
    func wrongCA() async throws {
        let fixture = try await KubeFixture.start()
        defer { Task { await fixture.api.stop() } }
        let other = try TestCertificates(commonName: "someone else's CA")
        var access = try fixture.access()
        access.caPEM = Array(other.caPEM.utf8)
        let client = KubeClient(access: access)
        await #expect(throws: KubeError.self) { try await client.list(Namespace.self) }
        #expect(fixture.api.requests.isEmpty, "nothing was sent to a server that could not prove itself")
        await client.shutdown()
    }
}

@Suite("Reading kubeconfig files")
struct KubeConfigTests {
    static let twoContexts = """
        apiVersion: v1
        kind: Config
        current-context: dev
        clusters:
        - name: dev-cluster
          cluster:
            server: https://dev.example:6443
            insecure-skip-tls-verify: true
        - name: prod-cluster
          cluster:
            server: https://prod.example:6443/
            certificate-authority: ca.pem
        contexts:
        - name: dev
          context: {cluster: dev-cluster, user: dev-user, namespace: team}
        - name: prod
          context: {cluster: prod-cluster, user: prod-user}
        - name: broken
          context: {cluster: nowhere, user: dev-user}
        users:
        - name: dev-user
          user: {token: dev-token}
        - name: prod-user
          user:
            client-certificate-data: \(Data("CERT".utf8).base64EncodedString())
            client-key: key.pem
        """

    func folder(with text: String) throws -> String {
        let folder = temporaryFolder("kc")
        try text.write(toFile: "\(folder)/config", atomically: true, encoding: .utf8)
        return folder
    }

    @Test("the current context, or the one --context names, with its cluster and user")
    func contexts() throws {
        let folder = try folder(with: Self.twoContexts)
        try "CA".write(toFile: "\(folder)/ca.pem", atomically: true, encoding: .utf8)
        try "KEY".write(toFile: "\(folder)/key.pem", atomically: true, encoding: .utf8)
        let dev = try ClusterAccess.find(kubeconfig: "\(folder)/config", context: nil)
        #expect(dev.server == "https://dev.example:6443")
        #expect(dev.context == "dev")
        #expect(dev.namespace == "team")
        #expect(dev.insecureSkipTLSVerify)
        guard case .fixed("dev-token") = dev.bearer else {
            Issue.record("no bearer token")
            return
        }
        let prod = try ClusterAccess.find(kubeconfig: "\(folder)/config", context: "prod")
        #expect(prod.server == "https://prod.example:6443")
        #expect(prod.caPEM == Array("CA".utf8), "certificate-authority is relative to the kubeconfig")
        #expect(prod.clientCertificatePEM == Array("CERT".utf8))
        #expect(prod.clientKeyPEM == Array("KEY".utf8))
        #expect(prod.summary == "context prod on https://prod.example:6443")
    }

    @Test("KUBECONFIG's files are merged as kubectl merges them: the first to set a name wins")
    func merged() throws {
        let first = try folder(
            with: """
                current-context: second
                contexts:
                - name: second
                  context: {cluster: shared, user: u}
                users:
                - name: u
                  user: {token: from-first}
                """)
        let second = try folder(
            with: Self.twoContexts.replacingOccurrences(of: "dev-cluster", with: "shared"))
        let access = try ClusterAccess.find(
            kubeconfig: nil, context: nil,
            environment: [
                "KUBECONFIG": "\(first)/config:/nonexistent/config:\(second)/config", "HOME": first,
            ])
        #expect(access.context == "second")
        #expect(access.server == "https://dev.example:6443")
        guard case .fixed("from-first") = access.bearer else {
            Issue.record("the first file's user lost")
            return
        }
    }

    @Test("errors name the file, the context or entry, the field, and what to do")
    func errors() throws {
        let folder = try folder(with: Self.twoContexts)
        let path = "\(folder)/config"
        #expect(throws: KubeError.unknownContext("staging", path: path, known: ["broken", "dev", "prod"])) {
            try ClusterAccess.find(kubeconfig: path, context: "staging")
        }
        #expect(
            throws: KubeError.unknownEntry(kind: "cluster", name: "nowhere", context: "broken", path: path)
        ) {
            try ClusterAccess.find(kubeconfig: path, context: "broken")
        }
        do {
            _ = try ClusterAccess.find(kubeconfig: path, context: "prod")
            Issue.record("a missing CA file was taken")
        } catch {
            #expect(
                error.description
                    == "\(path): cluster 'prod-cluster''s certificate-authority names \(folder)/ca.pem, which cannot be read (no such file); fix the path or its permissions"
            )
        }
        let syntax = try self.folder(with: "clusters: [oops")
        #expect(throws: KubeError.self) {
            try ClusterAccess.find(kubeconfig: "\(syntax)/config", context: nil)
        }
        let empty = temporaryFolder("kc")
        do {
            _ = try ClusterAccess.find(kubeconfig: nil, context: nil, environment: ["HOME": empty])
            Issue.record("no kubeconfig was taken as one")
        } catch {
            #expect(
                error.description.hasPrefix(
                    "no kubeconfig found (tried \(empty)/.kube/config) and not inside a cluster"))
        }
        let noContext = try self.folder(with: "clusters: []\n")
        #expect(throws: KubeError.noCurrentContext(path: "\(noContext)/config")) {
            try ClusterAccess.find(kubeconfig: "\(noContext)/config", context: nil)
        }
    }
}
