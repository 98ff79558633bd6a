import NIOCore
import NIOHTTP1
import SpaceportCore

/// What every handler of one client connection shares.
struct ConnectionInfo {
    let role: ListenerRole
    let reporter: HopReporter
    let loop: LoopState
    let clientIP: String?

    /// The limits as the spaces file has them now; the decoder's are fixed when the connection opens.
    var limits: Limits { loop.tree.settings.limits }
}

/// The pipelines of client connections. HTTP reads like its diagram:
/// guard the head → decode → one request at a time → route → forward (→ glue, once upgraded).
enum ProxyConnection {
    static func installHTTP(on pipeline: ChannelPipeline.SynchronousOperations, _ info: ConnectionInfo) throws
    {
        let limits = info.limits
        var decoderLimits = NIOHTTPDecoderLimitConfiguration()
        decoderLimits.maxHeaderListSize = limits.maxHeaderBytes
        decoderLimits.maxHeaderFieldSize = limits.maxHeaderBytes
        decoderLimits.maxHeaderFieldCount = limits.maxHeaderCount
        let headGuard = HeadGuard(info)
        try pipeline.addHandler(headGuard)
        // Response fields are the upstream's, which its decoder has already checked, or the proxy's
        // own, so no validator passes over them again. Pipelining is the sequencer's.
        // No local upgrades: an upgrader list, even empty, makes the decoder hand over the
        // bytes that follow an upgrade request instead of dropping them.
        try pipeline.configureHTTPServerPipeline(
            withPipeliningAssistance: false, withServerUpgrade: (upgraders: [], completionHandler: { _ in }),
            withErrorHandling: false, withOutboundHeaderValidation: false,
            withEncoderConfiguration: HTTPResponseEncoder.Configuration(),
            withDecoderLimitConfiguration: decoderLimits)
        try pipeline.addHandler(RequestSequencer())
        try pipeline.addHandler(RouteHandler(info, headGuard: headGuard))
        try pipeline.addHandler(ForwardHandler(info, headGuard: headGuard))
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
        let state = loops.on(channel.eventLoop)
        state.track(channel)
        let info = ConnectionInfo(
            role: role, reporter: reporter, loop: state, clientIP: channel.remoteAddress?.ipAddress)
        switch role {
        case .listen(let instance):
            try ProxyConnection.installListen(on: channel.pipeline.syncOperations, info, instance: instance)
        case .ingress, .egress:
            try ProxyConnection.installHTTP(on: channel.pipeline.syncOperations, info)
        }
    }
}
