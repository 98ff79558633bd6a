import NIOCore
import SpaceportCore

/// What every handler of one client connection shares.
struct ConnectionInfo {
    let role: ListenerRole
    let reporter: HopReporter
    let loop: LoopState
    let clientIP: String?
    /// The client's port: with its IP, what tells the proxy's own replays apart.
    var clientPort: Int? = nil

    /// The limits as the spaces file has them now; the decoder's are fixed when the connection opens.
    var limits: Limits { loop.limits }

    /// The client's X-Forwarded-Host and X-Forwarded-Proto stand: it is an app calling out
    /// through its egress, or a proxy the spaces file trusts. From anyone else the proxy
    /// writes what it saw itself.
    var keepsForwardedFields: Bool {
        if case .egress = role { return true }
        return loop.trusts(clientIP)
    }
}

/// The pipelines of client connections. HTTP/1 reads like its diagram:
/// time the head → decode → one request at a time → route → exchange (→ glue, once upgraded).
/// Responses go back as bytes. A client that opens with the HTTP/2 preface gets
/// `HTTP2Connection`'s pipeline instead (`HeadTimer` tells): one `HTTP2StreamHandler` per stream.
enum ProxyConnection {
    static func installHTTP(on pipeline: ChannelPipeline.SynchronousOperations, _ info: ConnectionInfo) throws
    {
        let limits = info.limits
        let headTimer = HeadTimer(info)
        // Responses leave as bytes the exchange handler writes itself, so there is no response
        // encoder. The decoder hands over the bytes that follow an upgrade request (for the
        // glue, after a 101) instead of dropping them.
        let decoder = ByteToMessageHandler(
            RequestDecoder(maxHeaderBytes: limits.maxHeaderBytes, maxHeaderCount: limits.maxHeaderCount))
        let sequencer = RequestSequencer()
        let route = RouteHandler(info)
        let exchange = ExchangeHandler(info, headTimer: headTimer, sequencer: sequencer)
        // HTTP/1 is in place from the start, so its header timeout holds for a silent client too.
        headTimer.watchForHTTP2(replacing: [decoder, sequencer, route, exchange])
        try pipeline.addHandler(headTimer)
        try pipeline.addHandler(decoder)
        try pipeline.addHandler(sequencer)
        try pipeline.addHandler(route)
        try pipeline.addHandler(exchange)
    }

    static func installListen(
        on pipeline: ChannelPipeline.SynchronousOperations, _ info: ConnectionInfo, instance: InstanceRef
    ) throws {
        try pipeline.addHandler(ProtocolSniffer(info, instance: instance))
    }
}

/// A listener's side of accepting: which role it plays and where its hops go.
struct ListenerContext: Sendable {
    let role: ListenerRole
    let reporter: HopReporter
    let loops: LoopStates

    /// Runs on the new channel's loop, before its first read.
    func accept(_ channel: any Channel) throws {
        // Set here, not as a bootstrap's child option: those go through a future each.
        try channel.syncOptions?.setOption(.allowRemoteHalfClosure, value: true)
        let state = loops.on(channel.eventLoop)
        state.track(channel)
        let info = ConnectionInfo(
            role: role, reporter: reporter, loop: state, clientIP: channel.remoteAddress?.ipAddress,
            clientPort: channel.remoteAddress?.port)
        switch role {
        case .listen(let instance):
            try ProxyConnection.installListen(on: channel.pipeline.syncOperations, info, instance: instance)
        case .ingress, .egress:
            try ProxyConnection.installHTTP(on: channel.pipeline.syncOperations, info)
        }
    }
}
