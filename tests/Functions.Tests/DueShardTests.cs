using AccountFunctions.Core.Storage;

namespace AccountFunctions.Functions.Tests;

/// <summary>The <c>due</c> table's partition key: one hour of one kind spread over 16 shards that one PK range covers.</summary>
public sealed class DueShardTests
{
    private static readonly DateTimeOffset At = new(2030, 5, 6, 7, 59, 59, TimeSpan.Zero);

    [Fact]
    public void ThePartitionIsKindHourAndAShardTakenFromTheRowKeyOnly()
    {
        var pk = DueRow.Partition(DueRow.Deadline, At, "account-1");
        Assert.Matches("^deadline-2030050607-[0-9a-f]$", pk);
        Assert.Equal(pk, DueRow.Partition(DueRow.Deadline, At.AddMinutes(-59), "account-1"));
        Assert.Equal(pk, DueRow.For(DueRow.Deadline, "account-1", At).PartitionKey);
        // SHA-256("account-1") begins with this digit: the shard must not change between versions.
        Assert.Equal(Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData("account-1"u8))[0], DueRow.Shard("account-1"));
    }

    [Fact]
    public void RowKeysSpreadOverAllSixteenShards()
    {
        var counts = new Dictionary<char, int>();
        for (var i = 0; i < 1600; i++)
        {
            var s = DueRow.Shard(Guid.NewGuid().ToString("N"));
            counts[s] = counts.GetValueOrDefault(s) + 1;
        }
        Assert.Equal(DueRow.Shards, counts.Count);
        Assert.All(counts.Values, c => Assert.InRange(c, 40, 200)); // about 100 each
    }

    [Fact]
    public void TheUpperBoundCoversEveryShardOfTheHourAndNoLaterHour()
    {
        var bound = DueRow.UpperBound(DueRow.Deadline, At);
        foreach (var shard in "0123456789abcdef")
            Assert.True(string.CompareOrdinal($"deadline-2030050607-{shard}", bound) <= 0, $"shard {shard} is read");
        Assert.True(string.CompareOrdinal("deadline-2030050607", bound) <= 0, "a legacy unsharded partition is read");
        Assert.True(string.CompareOrdinal("deadline-2030050608-0", bound) > 0, "the next hour is not read");
        Assert.True(string.CompareOrdinal("deadline-", "outbox-2030050607-0") < 0 && string.CompareOrdinal(bound, "outbox-") < 0, "other kinds are not read");
    }
}
