// One Chromium at a time: the machine is small and shared, and the HTTP tests run beside these.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
