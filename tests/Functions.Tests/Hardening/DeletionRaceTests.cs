using System.Net;
using Azure.Data.Tables;
using AccountFunctions.Functions.Tests.Support;

namespace AccountFunctions.Functions.Tests.Hardening;

/// <summary>Issue 15.5: deleting an account while email changes are in flight leaves no row with its id.</summary>
public sealed class DeletionRaceTests(AppFixture fixture) : IClassFixture<AppFixture>
{
    private TestApp App => fixture.App;

    private async Task<List<string>> RowsWithAsync(string id)
    {
        var found = new List<string>();
        foreach (var table in App.Storage.AllTables)
            await foreach (var row in table.QueryAsync<TableEntity>())
            {
                var text = row.PartitionKey + " " + row.RowKey + " " + string.Join(" ", row.Select(kv => kv.Value?.ToString()));
                if (text.Contains(id)) found.Add($"{table.Name}: {row.PartitionKey} / {row.RowKey}");
            }
        return found;
    }

    [Fact]
    public async Task SequentialEmailChangesThenDeletionLeaveNoRowWithTheId()
    {
        var email = await App.SignupVerifiedAsync(TestApp.NewEmail("seq"));
        var session = await App.LoginAsync(email);
        var access = session.GetProperty("accessToken").GetString()!;
        var id = session.GetProperty("account").GetProperty("id").GetString()!;
        // Each request replaces the pending address; the codes of the earlier ones must not stay behind.
        for (var i = 0; i < 3; i++)
            Assert.Equal(HttpStatusCode.Accepted, (await App.PostAsync("/api/me/email", new { currentPassword = TestApp.Password, newEmail = TestApp.NewEmail($"new{i}") }, access)).StatusCode);

        Assert.Equal(HttpStatusCode.NoContent, (await App.SendAsync(HttpMethod.Delete, "/api/me", new { currentPassword = TestApp.Password }, access)).StatusCode);

        Assert.Empty(await RowsWithAsync(id));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(5)]
    [InlineData(20)]
    public async Task DeletingDuringParallelEmailChangesLeavesNoRowWithTheId(int delayMs)
    {
        var email = await App.SignupVerifiedAsync(TestApp.NewEmail("race"));
        var session = await App.LoginAsync(email);
        var access = session.GetProperty("accessToken").GetString()!;
        var id = session.GetProperty("account").GetProperty("id").GetString()!;

        var changes = Enumerable.Range(0, 6).Select(i => Task.Run(() =>
            App.PostAsync("/api/me/email", new { currentPassword = TestApp.Password, newEmail = TestApp.NewEmail($"race{i}") }, access))).ToList();
        await Task.Delay(delayMs);
        var delete = await App.SendAsync(HttpMethod.Delete, "/api/me", new { currentPassword = TestApp.Password }, access);
        var answers = await Task.WhenAll(changes);

        Assert.Equal(HttpStatusCode.NoContent, delete.StatusCode);
        Assert.All(answers, a => Assert.True((int)a.StatusCode < 500, $"an email change answered {(int)a.StatusCode}"));
        Assert.Equal(HttpStatusCode.Unauthorized, (await App.GetAsync("/api/me", access)).StatusCode);
        Assert.Empty(await RowsWithAsync(id));
    }
}
