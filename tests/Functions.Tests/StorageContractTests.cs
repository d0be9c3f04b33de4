using AccountFunctions.Core.Storage;
using AccountFunctions.Functions.Tests.Support;
using Azure.Data.Tables;

namespace AccountFunctions.Functions.Tests;

/// <summary>The table primitives the flows rely on, against real Azurite.</summary>
public sealed class StorageContractTests(AppFixture fixture) : IClassFixture<AppFixture>
{
    private TableClient Table => fixture.App.Storage.Identifiers;

    private async Task<IdentifierRow> NewRowAsync()
    {
        await fixture.App.Storage.ReadyAsync();
        var row = new IdentifierRow { PartitionKey = "test-" + Guid.NewGuid().ToString("N"), RowKey = "owner", AccountId = "a" };
        Assert.True(await Table.TryAddAsync(row));
        return (await Table.GetOrNullAsync<IdentifierRow>(row.PartitionKey, row.RowKey))!;
    }

    [Fact]
    public async Task ADuplicateIndexRowConflicts()
    {
        var row = await NewRowAsync();
        Assert.False(await Table.TryAddAsync(new IdentifierRow { PartitionKey = row.PartitionKey, RowKey = row.RowKey, AccountId = "b" }));
        Assert.Equal("a", (await Table.GetOrNullAsync<IdentifierRow>(row.PartitionKey, row.RowKey))!.AccountId);
    }

    [Fact]
    public async Task AStaleETagFailsAnUpdate()
    {
        var row = await NewRowAsync();
        var stale = row.ETag;
        row.AccountId = "b";
        Assert.True(await Table.TryReplaceAsync(row));
        row.ETag = stale;
        row.AccountId = "c";
        Assert.False(await Table.TryReplaceAsync(row));
        Assert.Equal("b", (await Table.GetOrNullAsync<IdentifierRow>(row.PartitionKey, row.RowKey))!.AccountId);
    }

    [Fact]
    public async Task AnUpdateWithoutTheETagItReadIsRefused()
    {
        var row = new IdentifierRow { PartitionKey = "x", RowKey = "y" };
        await Assert.ThrowsAsync<InvalidOperationException>(() => Table.TryReplaceAsync(row));
    }

    [Fact]
    public async Task FiftyParallelConsumptionsOfOneRowHaveExactlyOneWinner()
    {
        for (var round = 0; round < 5; round++)
        {
            var row = await NewRowAsync();
            var copies = Enumerable.Range(0, 50).Select(_ => new IdentifierRow { PartitionKey = row.PartitionKey, RowKey = row.RowKey, ETag = row.ETag });

            var results = await Task.WhenAll(copies.Select(c => Table.TryConsumeAsync(c, "v1")));

            Assert.Equal(1, results.Count(r => r));
            Assert.Null(await Table.GetOrNullAsync<IdentifierRow>(row.PartitionKey, row.RowKey));
        }
    }

    [Fact]
    public async Task AConsumedVersionStaysConsumedEvenIfTheRowCouldNotBeDeleted()
    {
        var row = await NewRowAsync();
        var stale = new IdentifierRow { PartitionKey = row.PartitionKey, RowKey = row.RowKey, ETag = row.ETag };
        row.AccountId = "changed";
        Assert.True(await Table.TryReplaceAsync(row)); // the row moved on: the consumer's delete will not match

        Assert.True(await Table.TryConsumeAsync(stale, "v1"));
        Assert.NotNull(await Table.GetOrNullAsync<IdentifierRow>(row.PartitionKey, row.RowKey));
        Assert.False(await Table.TryConsumeAsync(row, "v1"));
        Assert.True(await Table.TryConsumeAsync(row, "v2"));
    }

    [Fact]
    public async Task AConditionalDeleteWithAStaleETagFails()
    {
        var row = await NewRowAsync();
        var stale = new IdentifierRow { PartitionKey = row.PartitionKey, RowKey = row.RowKey, ETag = row.ETag };
        row.AccountId = "b";
        Assert.True(await Table.TryReplaceAsync(row));

        Assert.False(await Table.TryDeleteAsync(stale));
        Assert.NotNull(await Table.GetOrNullAsync<IdentifierRow>(row.PartitionKey, row.RowKey));
    }

    [Fact]
    public async Task ATransactionWithAStaleETagWritesNothing()
    {
        var row = await NewRowAsync();
        var stale = row.ETag;
        row.AccountId = "b";
        Assert.True(await Table.TryReplaceAsync(row));
        row.ETag = stale;
        var extra = new IdentifierRow { PartitionKey = row.PartitionKey, RowKey = "extra", AccountId = "z" };

        Assert.False(await Table.TrySubmitAsync([new(TableTransactionActionType.UpdateReplace, row, stale), new(TableTransactionActionType.Add, extra)]));
        Assert.Null(await Table.GetOrNullAsync<IdentifierRow>(row.PartitionKey, "extra"));
    }

    [Fact]
    public async Task TheRetryHelperGivesUpWithAConcurrencyConflictWhenTheRowKeepsChanging()
    {
        var row = await NewRowAsync();
        var attempts = 0;
        await Assert.ThrowsAsync<AccountFunctions.Core.ConcurrencyConflictException>(() => Optimistic.RetryAsync(async _ =>
        {
            attempts++;
            var read = (await Table.GetOrNullAsync<IdentifierRow>(row.PartitionKey, row.RowKey))!;
            var other = (await Table.GetOrNullAsync<IdentifierRow>(row.PartitionKey, row.RowKey))!;
            other.AccountId = "other-" + attempts;
            Assert.True(await Table.TryReplaceAsync(other)); // a concurrent writer wins every time
            read.AccountId = "mine";
            return await Table.TryReplaceAsync(read);
        }, "kept changing"));
        Assert.Equal(Optimistic.Attempts, attempts);
        Assert.Equal("other-" + attempts, (await Table.GetOrNullAsync<IdentifierRow>(row.PartitionKey, row.RowKey))!.AccountId);
    }

    [Fact]
    public async Task TheRetryHelperRereadsAndWinsOnceTheRaceIsOver()
    {
        var row = await NewRowAsync();
        var attempts = 0;
        await Optimistic.RetryAsync(async attempt =>
        {
            attempts++;
            var read = (await Table.GetOrNullAsync<IdentifierRow>(row.PartitionKey, row.RowKey))!;
            if (attempt < 2)
            {
                var other = (await Table.GetOrNullAsync<IdentifierRow>(row.PartitionKey, row.RowKey))!;
                other.AccountId = "other";
                Assert.True(await Table.TryReplaceAsync(other));
            }
            read.AccountId = "mine";
            return await Table.TryReplaceAsync(read);
        }, "kept changing");
        Assert.Equal(3, attempts);
        Assert.Equal("mine", (await Table.GetOrNullAsync<IdentifierRow>(row.PartitionKey, row.RowKey))!.AccountId);
    }
}
