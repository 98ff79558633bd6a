/// The themes shipped in `themes/`, embedded so an installed binary needs no files beside it.
/// `themes/*.theme` are the source of truth; a test fails when these copies drift from them.
enum ShippedThemes {
    static let texts: [(name: String, text: String)] = [
        (
            "dark",
            #"""
            # Spaceport theme: dark, the default. For terminals with a dark background.
            # role = foreground [background] [attributes...]   (see README.md)
            normal             = default
            muted              = 245
            border             = 240
            title              = 250 default bold
            title-focused      = 81 default bold
            header             = 245 default underline
            tree               = 117
            flow-space         = 229/yellow default bold underline
            owned              = 114 default bold
            inherited          = 180
            missing            = 203
            override-on        = 114 default bold
            override-off       = 214
            health-up          = 114
            health-down        = 203 default bold
            rate               = 110
            method             = 147
            route-as           = 223
            status-2xx         = 114
            status-3xx         = 81
            status-4xx         = 221 default bold
            status-5xx         = 203 default bold
            status-pending     = 245
            fallback           = 214 default bold
            lost               = 207/magenta default bold
            restored           = 79/cyan
            failed             = 196/red default bold
            replay             = 75/blue default bold
            waterfall          = 110/cyan
            chain-served       = 114 default bold
            chain-skipped      = 203
            selection          = 16 117 bold
            selection-inactive = default 238/blue
            status-bar         = 252/black 236/white
            status-bar-key     = 117/blue 236/white bold
            note               = 114/black 236/green bold
            error              = 231/white 160/red bold
            invalid            = 203 default bold underline
            help               = 252 235
            help-key           = 117 235 bold
            dialog             = 252 235
            prompt             = 231 236
            """# + "\n"
        ),
        (
            "light",
            #"""
            # Spaceport theme: light. For terminals with a light background.
            # role = foreground [background] [attributes...]   (see README.md)
            normal             = default
            muted              = 243
            border             = 248
            title              = 238 default bold
            title-focused      = 25 default bold
            header             = 243 default underline
            tree               = 25
            flow-space         = 130/yellow default bold underline
            owned              = 28 default bold
            inherited          = 130
            missing            = 160
            override-on        = 28 default bold
            override-off       = 166
            health-up          = 28
            health-down        = 160 default bold
            rate               = 31
            method             = 91
            route-as           = 94
            status-2xx         = 28
            status-3xx         = 31
            status-4xx         = 136 default bold
            status-5xx         = 160 default bold
            status-pending     = 243
            fallback           = 166 default bold
            lost               = 163/magenta default bold
            restored           = 30/cyan
            failed             = 160/red default bold
            replay             = 26/blue default bold
            waterfall          = 31/cyan
            chain-served       = 28 default bold
            chain-skipped      = 160
            selection          = 231 25 bold
            selection-inactive = default 253/cyan
            status-bar         = 236/white 252/black
            status-bar-key     = 25/cyan 252/black bold
            note               = 28/black 252/green bold
            error              = 231/white 160/red bold
            invalid            = 160 default bold underline
            help               = 236 255
            help-key           = 25 255 bold
            dialog             = 236 255
            prompt             = 16 253
            """# + "\n"
        ),
        (
            "monochrome",
            #"""
            # Spaceport theme: monochrome. No colour at all, only attributes; used for NO_COLOR.
            # role = foreground [background] [attributes...]   (see README.md)
            normal             = default
            muted              = default default dim
            border             = default default dim
            title              = default default bold
            title-focused      = default default bold underline
            header             = default default underline
            tree               = default
            flow-space         = default default bold underline
            owned              = default default bold
            inherited          = default
            missing            = default default dim
            override-on        = default default bold
            override-off       = default default dim
            health-up          = default
            health-down        = default default bold
            rate               = default
            method             = default
            route-as           = default
            status-2xx         = default
            status-3xx         = default
            status-4xx         = default default bold
            status-5xx         = default default bold reverse
            status-pending     = default default dim
            fallback           = default default bold
            lost               = default default bold
            restored           = default
            failed             = default default reverse
            replay             = default default underline
            waterfall          = default
            chain-served       = default default bold
            chain-skipped      = default default dim
            selection          = default default reverse
            selection-inactive = default default underline
            status-bar         = default default reverse
            status-bar-key     = default default reverse bold
            note               = default default reverse
            error              = default default reverse bold
            invalid            = default default bold underline
            help               = default
            help-key           = default default bold
            dialog             = default
            prompt             = default default reverse
            """# + "\n"
        ),
    ]
}
