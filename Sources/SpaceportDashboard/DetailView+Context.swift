import SpaceportCore

extension DetailView {
    /// What became of the hop's route context (its `propagation`): for a lost one, who dropped
    /// what and what to forward; for a restored one, the trace that routed it; for one that came
    /// with carriers, the one that decided and the others that disagreed; its trace, and why its
    /// baggage could not carry route-as. Nothing when the proxy said none of it.
    static func contextLines(_ hop: HopEvent, tree: SpaceTree?, glyphs: Glyphs, width: Int) -> [Line] {
        guard
            hop.propagation != nil || hop.traceId != nil || !hop.conflicts.isEmpty || hop.bridgeProblem != nil
        else { return [] }
        var heading = Line([("Route context", .header)])
        if let propagation = hop.propagation {
            let mark = glyphs.mark(for: propagation)
            heading.add(
                "  " + (mark.map { $0.glyph + " " } ?? "") + propagation.rawValue, mark?.role ?? .muted)
        }
        var lines = [heading]
        func say(_ text: String, _ role: Role) {
            lines += Formatting.wrap(text, width: max(1, width - 2)).map { Line([("  " + $0, role)]) }
        }
        let settings = tree?.settings ?? Settings()
        let routeAs = Sanitized.line(hop.routeAs, placeholder: "?")
        switch hop.propagation {
        case .lost?:
            say(lostSentence(hop, settings: settings), .lost)
            if let expected = hop.expected {
                say(
                    "its flow was routed as \(Sanitized.line(expected)); without a carrier this call went as \(routeAs)",
                    .dialog)
            }
        case .restored?:
            let trace = hop.traceId.map { "trace \(Sanitized.line($0))" } ?? "its trace"
            say(
                "no carrier came: trace memory routed it as \(routeAs), as \(trace) was routed before",
                .dialog)
        case .bridged?:
            say("\(decidingCarrier(hop)) decided; the proxy added the carriers the request lacked", .dialog)
        case .kept?:
            say("\(decidingCarrier(hop)) decided; the request already carried every carrier", .dialog)
        case nil:
            break
        }
        for conflict in hop.conflicts {
            say(
                "conflict: \(Sanitized.line(conflict.carrier)) named \(Sanitized.line(conflict.value)); \(decidingCarrier(hop)) came first",
                .dialog)
        }
        if let problem = hop.bridgeProblem {
            say("baggage left as it came: " + Sanitized.line(problem), .error)
        }
        if let trace = hop.traceId { say("trace \(Sanitized.line(trace))", .muted) }
        return lines
    }

    /// `servicea@default called serviceb without azds-route-as, kubernetes-route-as or baggage:
    /// forward one of them (or traceparent, and trace memory restores it)`, from the proxy's carriers.
    static func lostSentence(_ hop: HopEvent, settings: Settings) -> String {
        let carriers = settings.propagation.carriers(routeHeader: settings.routeHeader)
        let fields = carriers.headers + (carriers.baggageKeys.isEmpty ? [] : ["baggage"])
        let missing = NearestNames.list(fields.map(Sanitized.line))
        let service = Sanitized.line(hop.service, placeholder: "the service")
        var sentence: String
        if let by = hop.lostBy {
            sentence =
                "\(Sanitized.line(by.service))@\(Sanitized.line(by.space)) called \(service) without \(missing): "
            sentence += fields.count == 1 ? "forward it" : "forward one of them"
        } else {
            sentence = "\(service) was called without \(missing): its caller should forward "
            sentence += fields.count == 1 ? "it" : "one of them"
        }
        let remembers = settings.propagation.remembersTraces
        switch (hop.traceId, remembers) {
        case (nil, true): sentence += " (or traceparent, and trace memory restores it)"
        case (_?, true): sentence += " (its traceparent came, but trace memory did not know the trace)"
        case (_?, false): sentence += " (its traceparent came, but trace memory is off)"
        case (nil, false): break
        }
        return sentence
    }

    /// `the header kubernetes-route-as`, `the baggage member okteto-divert`: what decided route-as.
    private static func decidingCarrier(_ hop: HopEvent) -> String {
        let name = Sanitized.line(hop.routeAsCarrier, placeholder: "?")
        switch hop.routeAsSource {
        case .baggage?: return "the baggage member \(name)"
        case .header?: return "the header \(name)"
        default: return "the \(hop.routeAsSource?.rawValue ?? "route")"
        }
    }
}
