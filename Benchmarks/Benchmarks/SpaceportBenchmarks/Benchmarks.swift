import Benchmark
import SpaceportBenchmarkSupport

/// Each benchmark repeats its scenario a thousand times per iteration (`scalingFactor: .kilo`),
/// and the figures are per repetition: per request, per hop. The thresholds (`Thresholds/`)
/// hold the allocations; time is left unchecked, as it depends on who else uses the machine.
/// Instructions are counted by `Benchmarks/instructions` (callgrind): package-benchmark's
/// `instructions` needs perf counters, and where they are missing it allocates as it tries.
let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.mallocCountTotal, .wallClock],
        timeUnits: .nanoseconds,
        warmupIterations: 3,
        scalingFactor: .kilo,
        maxDuration: .seconds(2),
        maxIterations: 1000,
        // Per iteration, so per thousand repetitions: one more allocation a request is a thousand
        // more, while a few come and go from run to run.
        thresholds: [.mallocCountTotal: .init(absolute: [.p90: 100])]
    )
    let scenarios: [Scenario]
    do {
        scenarios = try Scenario.all()
    } catch {
        fatalError("the load test's files (bench/conf) could not be read: \(error)")
    }
    for scenario in scenarios {
        Benchmark(scenario.name) { benchmark in
            let operation = try scenario.prepare()
            benchmark.startMeasurement()
            for _ in benchmark.scaledIterations { try operation.run() }
            benchmark.stopMeasurement()
            try operation.finish()
        }
    }
}
