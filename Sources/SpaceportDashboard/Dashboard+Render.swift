extension Dashboard {
    /// Draws the whole screen for the canvas's size.
    public func render(into canvas: inout some Canvas, at now: Double) {
        canvas.fill(canvas.bounds, role: .normal)
        var view = self
        view.view.size = canvas.size
        let layout = view.layout
        guard layout.mode != .tooSmall else {
            drawTooSmall(on: &canvas)
            return
        }
        let flows = self.view.hopsView == .flows ? view.flowWindow : nil
        TreePane.draw(view, layout: layout, crossed: crossedSpaces(in: flows), at: now, on: &canvas)
        ServicesPane.draw(view, layout: layout, at: now, on: &canvas)
        if let flows {
            FlowsPane.draw(view, window: flows, layout: layout, on: &canvas)
        } else {
            HopsPane.draw(view, layout: layout, on: &canvas)
        }
        StatusBar.draw(view, layout: layout, at: now, on: &canvas)
        switch self.view.modal {
        case nil: break
        case .help(let scroll): HelpView.draw(view, scroll: scroll, on: &canvas)
        case .detail(let page, _): DetailView.draw(view, page: page, on: &canvas)
        case .prompt(let prompt):
            let hint = [
                keyMap.hint(.submit, in: .prompt, "accepts"), keyMap.hint(.cancel, in: .prompt, "cancels"),
                keyMap.hint(.eraseLine, in: .prompt, "clears"),
            ]
            PromptView.drawPrompt(
                prompt, hint: hint.compactMap { $0 }.joined(separator: ", "), glyphs: glyphs, on: &canvas)
        case .confirm(let confirmation):
            let hint = [keyMap.hint(.confirm, in: .confirm, "yes"), keyMap.hint(.cancel, in: .confirm, "no")]
            PromptView.drawMessage(
                confirmation.question, isError: false, hint: hint.compactMap { $0 }.joined(separator: ", "),
                glyphs: glyphs, on: &canvas)
        case .message(let text, let isError):
            PromptView.drawMessage(
                text, isError: isError, hint: "any key closes", glyphs: glyphs, on: &canvas)
        }
    }

    /// Below 40×10 nothing fits: say so plainly.
    private func drawTooSmall(on canvas: inout some Canvas) {
        let size = canvas.size
        let quits = keyMap.hint(.quit, in: .global, "quits.").map { " \($0)" } ?? ""
        let text =
            "Terminal too small: \(size.width)×\(size.height). Spaceport needs at least \(Layout.minimum.width)×\(Layout.minimum.height).\(quits)"
        for (row, line) in Formatting.wrap(text, width: size.width).prefix(size.height).enumerated() {
            canvas.write(line, x: 0, y: row, role: .normal)
        }
    }
}
