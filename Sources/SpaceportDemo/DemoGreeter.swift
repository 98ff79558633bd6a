import NIOCore
import NIOHPACK
import NIOHTTP2
import NIOPosix
import SpaceportCore
import Synchronization

/// The demo's gRPC service, `demo.Greeter`, standing in for one instance: an h2c server on
/// swift-nio-http2 with its few protobuf messages encoded by hand (`DemoProto`), so the demo
/// needs no code generator. Its methods:
/// - `SayHello(HelloRequest) → HelloReply`: says which instance answered and the space the call
///   was routed as;
/// - `SayHellos(HelloRequest) → stream HelloReply`: the same, three times, one message each;
/// - `Lookup(HelloRequest) → HelloReply`: never finds the name, and ends NOT_FOUND;
/// - any other method ends UNIMPLEMENTED, as a gRPC server answers one it does not have.
public final class DemoGreeter: Sendable {
    public static let service = "greeter"
    public static let methods = (
        hello: "/demo.Greeter/SayHello", hellos: "/demo.Greeter/SayHellos", lookup: "/demo.Greeter/Lookup"
    )

    public let space: String
    let routeHeader: String
    let group: any EventLoopGroup
    private let channel = Mutex<(any Channel)?>(nil)

    public init(space: String, routeHeader: String, group: any EventLoopGroup) {
        self.space = space
        self.routeHeader = routeHeader
        self.group = group
    }

    /// `greeter@space`, as `x-spaceport-route` names it.
    public var label: String { Route.label(service: Self.service, space: space) }

    /// Binds `preferred` when it is free, else any free loopback port; returns the address.
    public func start(preferredPort: Int) async throws -> Address {
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    _ = try channel.pipeline.syncOperations.configureHTTP2Pipeline(
                        mode: .server, connectionConfiguration: .init(), streamConfiguration: .init()
                    ) { stream in
                        stream.eventLoop.makeCompletedFuture {
                            try stream.pipeline.syncOperations.addHandler(Call(owner: self))
                        }
                    }
                }
            }
        let bound = try await bootstrap.bindLoopback(preferring: preferredPort)
        channel.withLock { $0 = bound }
        return Address(host: "127.0.0.1", port: bound.localAddress?.port ?? preferredPort)
    }

    public func stop() async {
        try? await channel.withLock { $0 }?.close()
    }

    /// The replies to a call of `method`, and the status it ends with.
    func answer(_ method: String, name: String, routeAs: String?) -> (
        replies: [String], status: GRPCStatus, message: String?
    ) {
        let hello = "Hello \(name), from \(label) (route-as: \(routeAs ?? "none"))"
        // Each reply ends its line, so curl prints the trailers after it on a line of their own.
        switch method {
        case Self.methods.hello: return ([hello + "\n"], .ok, nil)
        case Self.methods.hellos: return ((1...3).map { "\(hello) #\($0)\n" }, .ok, nil)
        case Self.methods.lookup: return ([], .notFound, "\(label) knows no greeting for \(name)")
        default: return ([], .unimplemented, "\(label) has no method \(method)")
        }
    }

    /// One call on its own stream: the request's message is read whole, then answered.
    final class Call: ChannelInboundHandler {
        typealias InboundIn = HTTP2Frame.FramePayload
        typealias OutboundOut = HTTP2Frame.FramePayload

        let owner: DemoGreeter
        var headers = HPACKHeaders()
        var body = ByteBuffer()

        init(owner: DemoGreeter) { self.owner = owner }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch unwrapInboundIn(data) {
            case .headers(let block):
                headers = block.headers
                if block.endStream { respond(context) }
            case .data(let data):
                if case .byteBuffer(var buffer) = data.data { body.writeBuffer(&buffer) }
                if data.endStream { respond(context) }
            default:
                break
            }
        }

        private func respond(_ context: ChannelHandlerContext) {
            let request = DemoProto.messages(in: &body).first ?? []
            let name = DemoProto.string(field: 1, in: request) ?? "stranger"
            let (replies, status, message) = owner.answer(
                headers.first(name: ":path") ?? "", name: name,
                routeAs: headers.first(name: owner.routeHeader))
            let head: HPACKHeaders = [":status": "200", "content-type": "application/grpc"]
            context.write(wrapOutboundOut(.headers(.init(headers: head))), promise: nil)
            for reply in replies {
                let framed = DemoProto.framed(DemoProto.string(field: 1, reply))
                context.write(wrapOutboundOut(.data(.init(data: .byteBuffer(framed)))), promise: nil)
            }
            var trailers: HPACKHeaders = ["grpc-status": String(status.rawValue)]
            if let message { trailers.add(name: "grpc-message", value: message) }
            context.writeAndFlush(
                wrapOutboundOut(.headers(.init(headers: trailers, endStream: true))), promise: nil)
        }
    }
}

/// The little of protobuf and gRPC's framing the demo needs: messages of string fields,
/// each message behind gRPC's five-byte prefix (a compressed flag, then its length).
public enum DemoProto {
    /// A string field: its tag (field number, wire type 2), its length as a varint, its bytes.
    public static func string(field: Int, _ text: String) -> [UInt8] {
        var bytes = varint(field << 3 | 2)
        bytes += varint(text.utf8.count)
        bytes += Array(text.utf8)
        return bytes
    }

    /// The string in field `field` of a message; nil when it has none.
    public static func string(field: Int, in message: [UInt8]) -> String? {
        var index = 0
        while index < message.count {
            guard let key = readVarint(message, &index) else { return nil }
            switch key & 7 {
            case 0:
                guard readVarint(message, &index) != nil else { return nil }
            case 2:
                guard let length = readVarint(message, &index), index + length <= message.count else {
                    return nil
                }
                if key >> 3 == field {
                    return String(decoding: message[index..<index + length], as: UTF8.self)
                }
                index += length
            default:
                return nil
            }
        }
        return nil
    }

    /// A message behind gRPC's prefix: uncompressed, then its length in four bytes.
    public static func framed(_ message: [UInt8]) -> ByteBuffer {
        var buffer = ByteBuffer(bytes: [0])
        buffer.writeInteger(UInt32(message.count))
        buffer.writeBytes(message)
        return buffer
    }

    /// The whole messages in `buffer`, taken out of it.
    public static func messages(in buffer: inout ByteBuffer) -> [[UInt8]] {
        var out: [[UInt8]] = []
        while buffer.readableBytes >= 5,
            let length = buffer.getInteger(at: buffer.readerIndex + 1, as: UInt32.self),
            buffer.readableBytes >= 5 + Int(length)
        {
            buffer.moveReaderIndex(forwardBy: 5)
            out.append(buffer.readBytes(length: Int(length)) ?? [])
        }
        return out
    }

    static func varint(_ value: Int) -> [UInt8] {
        var value = UInt64(value)
        var bytes: [UInt8] = []
        repeat {
            let low = UInt8(value & 0x7F)
            value >>= 7
            bytes.append(value == 0 ? low : low | 0x80)
        } while value != 0
        return bytes
    }

    static func readVarint(_ bytes: [UInt8], _ index: inout Int) -> Int? {
        var value = 0
        var shift = 0
        while index < bytes.count, shift < 64 {
            let byte = bytes[index]
            index += 1
            value |= Int(byte & 0x7F) << shift
            if byte & 0x80 == 0 { return value }
            shift += 7
        }
        return nil
    }
}
