import NIOCore
import NIOHTTP1
import SpaceportCore

/// Joining a client connection to an upstream one, raw, both ways.
enum Tunnel {
    /// After a 101: the HTTP handlers leave both pipelines and glue takes their place. The
    /// decoders go last, handing the glue any bytes that followed the upgrade request or
    /// arrived with the 101, so none are lost.
    static func joinUpgraded(client: any Channel, upstream: any Channel, tunnel: TunnelHop) throws {
        let clientPipeline = client.pipeline.syncOperations
        let upstreamPipeline = upstream.pipeline.syncOperations
        try remove(ForwardHandler.self, from: clientPipeline)
        try remove(RouteHandler.self, from: clientPipeline)
        try remove(HTTPServerUpgradeHandler.self, from: clientPipeline)
        try remove(HTTPServerPipelineHandler.self, from: clientPipeline)
        try remove(NIOHTTPResponseHeadersValidator.self, from: clientPipeline)
        try remove(HTTPResponseEncoder.self, from: clientPipeline)
        try remove(HeadGuard.self, from: clientPipeline)
        try remove(UpstreamHandler.self, from: upstreamPipeline)
        try remove(HTTPRequestEncoder.self, from: upstreamPipeline)
        let glue = GlueHandler.pair(tunnel)
        try clientPipeline.addHandler(glue.client)
        try upstreamPipeline.addHandler(glue.upstream)
        try remove(ByteToMessageHandler<HTTPRequestDecoder>.self, from: clientPipeline)
        try remove(ByteToMessageHandler<HTTPResponseDecoder>.self, from: upstreamPipeline)
        client.read()
        upstream.read()
    }

    /// Raw TCP: `client` has only `buffered` so far, which goes first.
    static func joinRaw(client: ChannelHandlerContext, upstream: any Channel, tunnel: TunnelHop) throws {
        let glue = GlueHandler.pair(tunnel)
        try upstream.pipeline.syncOperations.addHandler(glue.upstream)
        try client.pipeline.syncOperations.addHandler(glue.client, position: .after(client.handler))
    }

    private static func remove<Handler: RemovableChannelHandler>(
        _ type: Handler.Type, from pipeline: ChannelPipeline.SynchronousOperations
    ) throws {
        guard let context = try? pipeline.context(handlerType: type) else { return }
        pipeline.removeHandler(context: context, promise: nil)
    }
}
