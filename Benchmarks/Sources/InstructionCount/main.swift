import Foundation
import SpaceportBenchmarkSupport

// Runs one benchmark's scenario `count` times inside `measured`, for
// `valgrind --tool=callgrind --toggle-collect='*measured*'`: instructions per repetition where
// the processor's counters cannot be read (package-benchmark's `instructions` needs them).
// `Benchmarks/instructions` runs it for every scenario.
let arguments = CommandLine.arguments.dropFirst()
guard let name = arguments.first, let scenario = try Scenario.all().first(where: { $0.name == name }) else {
    let names = try Scenario.all().map { "  \($0.name)" }.joined(separator: "\n")
    print("usage: InstructionCount <scenario> [count]; the scenarios:\n\(names)")
    exit(2)
}
let count = arguments.dropFirst().first.flatMap { Int($0) } ?? 10_000

@inline(never)
func measured(_ operation: PreparedScenario, _ count: Int) throws {
    for _ in 0..<count { try operation.run() }
}

let operation = try scenario.prepare()
try measured(operation, count)
try operation.finish()
print("\(name): \(count) repetitions")
