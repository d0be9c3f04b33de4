// Each test class starts worker processes; two at a time is what the machine takes.
[assembly: CollectionBehavior(MaxParallelThreads = 2)]
