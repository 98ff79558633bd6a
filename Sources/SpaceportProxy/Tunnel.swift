import NIOCore
import SpaceportCore

/// Joining a client connection to an upstream one, raw, both ways.
enum Tunnel {
    /// After a 101: the HTTP handlers leave both pipelines and glue takes their place. The
    /// client's decoder and the upstream handler go last, handing the glue any bytes that
    /// followed the upgrade request or arrived with the 101, so none are lost.
    static func joinUpgraded(client: any Channel, upstream: any Channel, tunnel: TunnelHop) throws {
        let clientPipeline = client.pipeline.syncOperations
        let upstreamPipeline = upstream.pipeline.syncOperations
        remove(ExchangeHandler.self, from: clientPipeline)
        remove(RouteHandler.self, from: clientPipeline)
        remove(RequestSequencer.self, from: clientPipeline)
        remove(HeadTimer.self, from: clientPipeline)
        remove(UpstreamHandler.self, from: upstreamPipeline)
        let glue = GlueHandler.pair(tunnel)
        try clientPipeline.addHandler(glue.client)
        try upstreamPipeline.addHandler(glue.upstream)
        // The decoders go last: as they leave they hand the glue the bytes they read past the
        // request and past the 101.
        remove(ByteToMessageHandler<RequestDecoder>.self, from: clientPipeline)
        remove(ByteToMessageHandler<UpstreamResponseDecoder>.self, from: upstreamPipeline)
        client.read()
        upstream.read()
    }

    /// Raw TCP at a listen address: the glue goes right behind `client` (the sniffer), which
    /// then hands it the bytes it has read so far.
    static func joinRaw(client: ChannelHandlerContext, upstream: any Channel, tunnel: TunnelHop) throws {
        let glue = GlueHandler.pair(tunnel)
        try upstream.pipeline.syncOperations.addHandler(glue.upstream)
        try client.pipeline.syncOperations.addHandler(glue.client, position: .after(client.handler))
    }

    /// Removes the handler of `type` when the pipeline has one; the future says when it has left.
    @discardableResult
    private static func remove<Handler: RemovableChannelHandler>(
        _ type: Handler.Type, from pipeline: ChannelPipeline.SynchronousOperations
    ) -> EventLoopFuture<Void>? {
        guard let context = try? pipeline.context(handlerType: type) else { return nil }
        return pipeline.removeHandler(context: context)
    }
}
