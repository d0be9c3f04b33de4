using System.Net;
using AccountFunctions.Functions.Tests.Support;

namespace AccountFunctions.Functions.Tests;

/// <summary>GET /api/health: 200 with both checks ok against Azurite; 503 naming the failing checks without details when storage is absent.</summary>
public sealed class HealthTests(AppFixture fixture) : IClassFixture<AppFixture>
{
    [Fact]
    public async Task HealthyWhenTablesAndQueuesAnswer()
    {
        var response = await fixture.App.GetAsync("/api/health");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = await TestApp.Body(response);
        Assert.Equal("ok", body.GetProperty("status").GetString());
        Assert.Equal("ok", body.GetProperty("checks").GetProperty("tables").GetString());
        Assert.Equal("ok", body.GetProperty("checks").GetProperty("queues").GetString());
    }

    [Fact]
    public async Task UnhealthyWithTheFailingChecksNamedAndNoDetailsWhenStorageIsUnreachable()
    {
        int table = Repo.FreePort(), queue = Repo.FreePort();
        var key = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";
        var connection = $"DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey={key};" +
            $"TableEndpoint=http://127.0.0.1:{table}/devstoreaccount1;QueueEndpoint=http://127.0.0.1:{queue}/devstoreaccount1;";
        await using var app = await TestApp.StartAsync(new Dictionary<string, string?> { ["AzureWebJobsStorage"] = connection });

        var response = await app.GetAsync("/api/health");

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        var text = await response.Content.ReadAsStringAsync();
        var body = await TestApp.Body(response);
        Assert.Equal("unavailable", body.GetProperty("status").GetString());
        Assert.Equal("failed", body.GetProperty("checks").GetProperty("tables").GetString());
        Assert.Equal("failed", body.GetProperty("checks").GetProperty("queues").GetString());
        Assert.DoesNotContain(key, text);
        Assert.DoesNotContain(table.ToString(), text);
        Assert.DoesNotContain("127.0.0.1", text);
        Assert.DoesNotContain("Exception", text);
    }
}
