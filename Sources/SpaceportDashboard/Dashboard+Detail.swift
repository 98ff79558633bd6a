extension Dashboard {
    var isShowingDetail: Bool {
        if case .detail = view.modal { return true }
        return false
    }

    /// Moves the selection among the open hop's flow, scrolling so the selected row shows.
    mutating func selectInFlow(by delta: Int) {
        guard case .detail(var page, let back) = view.modal,
            let record = model.hops.record(source: page.source, id: page.id)
        else { return }
        let flow = model.flow(of: record)
        guard
            let current = flow.firstIndex(where: { $0.hop.id == page.selected })
                ?? flow.firstIndex(where: {
                    $0.hop.id == page.id
                })
        else { return }
        let target = flow[Self.clamped(current, delta, count: flow.count)]
        page.selected = target.hop.id
        let content = DetailView.content(for: record, page: page, in: self, width: detailInside.width)
        if let line = content.selectedLine {
            page.scroll = min(max(page.scroll, line - detailInside.height + 1), line)
        }
        view.modal = .detail(page, back: back)
    }

    /// Enter on a row of the flow: that hop's detail, with the one open now kept for Esc.
    mutating func openSelectedFlowHop() {
        guard case .detail(let page, let back) = view.modal, page.selected != page.id,
            model.hops.record(source: page.source, id: page.selected) != nil
        else { return }
        view.modal = .detail(HopPage(source: page.source, id: page.selected), back: back + [page])
    }

    /// Esc: the hop opened before this one, or out of the detail (and any other dialog).
    mutating func goBack() {
        if case .detail(_, var back) = view.modal, let previous = back.popLast() {
            view.modal = .detail(previous, back: back)
        } else {
            view.modal = nil
        }
    }

    mutating func scrollDetail(by delta: Int) {
        guard case .detail(var page, let back) = view.modal else { return }
        let lines =
            model.hops.record(source: page.source, id: page.id).map {
                DetailView.content(for: $0, page: page, in: self, width: detailInside.width).lines.count
            } ?? 0
        page.scroll = min(max(page.scroll + delta, 0), max(0, lines - detailInside.height))
        view.modal = .detail(page, back: back)
    }

    /// Where the detail's lines go on this screen.
    private var detailInside: Rect { Dialog.inside(Dialog.area(for: view.size)) }
}
