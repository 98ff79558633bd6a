/// Spaces files several test targets read: the README's example and a tree three levels deep.
public enum SampleSpaces {
    /// The README's example: azureuser derived from default, overriding servicea.
    public static let azure = """
        spaces:
          default:
            services:
              servicea: { upstream: 127.0.0.1:5001 }
              serviceb: { upstream: 127.0.0.1:5002 }
          azureuser:
            parent: default
            services:
              servicea: { upstream: 127.0.0.1:6001, enabled: true, egress: 127.0.0.1:7001 }

        """

    /// Three levels: alice derives from azureuser, which derives from default.
    public static let threeLevels = """
        spaces:
          default:
            services:
              servicea: 127.0.0.1:5001
              serviceb: 127.0.0.1:5002
              servicec: 127.0.0.1:5003
          azureuser:
            parent: default
            services:
              serviceb: 127.0.0.1:6002
          alice:
            parent: azureuser
            services:
              servicec: { upstream: 127.0.0.1:7003, enabled: false }
          other:
            services:
              servicez: 127.0.0.1:9000

        """
}
