namespace AccountFunctions.Core.Tests;

public sealed class AsyncOnceTests
{
    [Fact]
    public async Task ASuccessfulResultIsSharedAndComputedOnce()
    {
        var calls = 0;
        var once = new AsyncOnce<int>(async () => { await Task.Yield(); return Interlocked.Increment(ref calls); });

        var results = await Task.WhenAll(Enumerable.Range(0, 10).Select(_ => once.Value));

        Assert.All(results, r => Assert.Equal(1, r));
        Assert.Equal(1, calls);
    }

    [Fact]
    public async Task AFailureIsNotCachedTheNextCallerTriesAgain()
    {
        var calls = 0;
        var once = new AsyncOnce<string>(async () =>
        {
            await Task.Yield();
            return Interlocked.Increment(ref calls) == 1 ? throw new InvalidOperationException("storage down") : "ok";
        });

        await Assert.ThrowsAsync<InvalidOperationException>(() => once.Value);
        Assert.Equal("ok", await once.Value);
        Assert.Equal("ok", await once.Value);
        Assert.Equal(2, calls);
    }
}
