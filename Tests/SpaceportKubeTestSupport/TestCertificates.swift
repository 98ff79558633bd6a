import Crypto
import Foundation
import SwiftASN1
import X509

/// A certificate authority made for one test run, a server certificate it signed for
/// 127.0.0.1, so the stand-in API server speaks real TLS that the client must verify, and a
/// client certificate it signed, for a kubeconfig user that signs in with one.
public struct TestCertificates: Sendable {
    public let caPEM: String
    public let serverCertificatePEM: String
    public let serverKeyPEM: String
    public let clientCertificatePEM: String
    public let clientKeyPEM: String

    public init(commonName: String = "spaceport stand-in CA") throws {
        let caKey = P256.Signing.PrivateKey()
        let caName = try DistinguishedName { CommonName(commonName) }
        /// A certificate for `key`, valid from an hour ago for a day, signed by the CA's key.
        func issue(
            _ subject: DistinguishedName, key: P256.Signing.PrivateKey, _ extensions: Certificate.Extensions
        ) throws -> String {
            let now = Date()
            return try Certificate(
                version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: .init(key.publicKey),
                notValidBefore: now - 3600, notValidAfter: now + 86_400, issuer: caName, subject: subject,
                signatureAlgorithm: .ecdsaWithSHA256, extensions: extensions, issuerPrivateKey: .init(caKey)
            ).serializeAsPEM().pemString
        }
        caPEM = try issue(
            caName, key: caKey,
            try Certificate.Extensions {
                Critical(BasicConstraints.isCertificateAuthority(maxPathLength: nil))
                Critical(KeyUsage(keyCertSign: true))
            })
        let serverKey = P256.Signing.PrivateKey()
        serverCertificatePEM = try issue(
            try DistinguishedName { CommonName("127.0.0.1") }, key: serverKey,
            try Certificate.Extensions {
                Critical(BasicConstraints.notCertificateAuthority)
                Critical(KeyUsage(digitalSignature: true))
                try ExtendedKeyUsage([.serverAuth])
                SubjectAlternativeNames([
                    .ipAddress(ASN1OctetString(contentBytes: [127, 0, 0, 1])), .dnsName("localhost"),
                ])
            })
        serverKeyPEM = serverKey.pemRepresentation
        let clientKey = P256.Signing.PrivateKey()
        clientCertificatePEM = try issue(
            try DistinguishedName { CommonName("tester") }, key: clientKey,
            try Certificate.Extensions {
                Critical(BasicConstraints.notCertificateAuthority)
                Critical(KeyUsage(digitalSignature: true))
                try ExtendedKeyUsage([.clientAuth])
            })
        clientKeyPEM = clientKey.pemRepresentation
    }
}
