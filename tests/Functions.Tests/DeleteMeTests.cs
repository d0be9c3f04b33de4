using System.Net;
using System.Net.Http.Json;
using AccountFunctions.Functions.Tests.Support;
using Azure.Data.Tables;

namespace AccountFunctions.Functions.Tests;

public sealed class DeleteMeTests(AppFixture fixture) : IClassFixture<AppFixture>
{
    private TestApp App => fixture.App;

    private Task<HttpResponseMessage> DeleteMeAsync(string access, object body) => App.SendAsync(HttpMethod.Delete, "/api/me", body, access);

    [Fact]
    public async Task DeletingMyAccountNeedsMyPasswordAndLeavesNoRowWithMyIdInAnyTable()
    {
        var email = await App.SignupVerifiedAsync(TestApp.NewEmail("leaving"));
        var session = await App.LoginAsync(email);
        await App.LoginAsync(email); // a second session
        await App.PostAsync("/api/login/email", new { email }); // a magic link and code, an outbox row
        await App.Mail.WaitForAsync(email, 2);
        var access = session.GetProperty("accessToken").GetString()!;
        var id = session.GetProperty("account").GetProperty("id").GetString()!;

        var wrong = await DeleteMeAsync(access, new { currentPassword = "not my passphrase" });
        Assert.Equal(HttpStatusCode.BadRequest, wrong.StatusCode);
        Assert.Equal("wrong_password", await TestApp.Code(wrong));

        var deleted = await DeleteMeAsync(access, new { currentPassword = TestApp.Password });

        Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await App.GetAsync("/api/me", access)).StatusCode);
        Assert.Equal("invalid_credentials", await TestApp.Code(await App.PostAsync("/api/login", new { identifier = email, password = TestApp.Password })));
        var leftovers = new List<string>();
        foreach (var table in App.Storage.AllTables)
            await foreach (var row in table.QueryAsync<TableEntity>())
            {
                var text = row.PartitionKey + " " + row.RowKey + " " + string.Join(" ", row.Select(kv => kv.Value?.ToString()));
                if (text.Contains(id)) leftovers.Add($"{table.Name}: {row.PartitionKey} / {row.RowKey}");
            }
        Assert.Empty(leftovers);
        // The address is free again.
        await App.SignupVerifiedAsync(email);
    }
}
