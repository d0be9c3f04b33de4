namespace AccountFunctions.Core;

/// <summary>
/// Runs an async initialisation once and shares its result, like Lazy&lt;Task&lt;T&gt;&gt;, except
/// that a failed or cancelled attempt is forgotten: the next caller tries again (storage may
/// be back), instead of the failure being cached for the life of the process.
/// </summary>
public sealed class AsyncOnce<T>(Func<Task<T>> factory)
{
    private Task<T>? _task;

    public Task<T> Value
    {
        get
        {
            var task = Volatile.Read(ref _task);
            if (task is not null && !task.IsFaulted && !task.IsCanceled) return task;
            var fresh = factory();
            var seen = Interlocked.CompareExchange(ref _task, fresh, task);
            return seen == task ? fresh : seen!;
        }
    }
}
