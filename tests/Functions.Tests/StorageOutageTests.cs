using System.Diagnostics;
using System.Net;
using AccountFunctions.Functions.Tests.Support;

namespace AccountFunctions.Functions.Tests;

/// <summary>Storage unreachable: a 503 problem quickly, and recovery without a restart.</summary>
public sealed class StorageOutageTests
{
    [Fact]
    public async Task RequestsDuringAnOutageGet503AndTheAppRecoversWhenStorageReturns()
    {
        int table = Repo.FreePort(), queue = Repo.FreePort();
        var key = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";
        var connection = $"DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey={key};" +
            $"TableEndpoint=http://127.0.0.1:{table}/devstoreaccount1;QueueEndpoint=http://127.0.0.1:{queue}/devstoreaccount1;";
        await using var app = await TestApp.StartAsync(new Dictionary<string, string?> { ["AzureWebJobsStorage"] = connection });
        var email = TestApp.NewEmail("outage");

        var sw = Stopwatch.StartNew();
        var down = await app.PostAsync("/api/signup", new { email, password = TestApp.Password });
        sw.Stop();

        Assert.Equal(HttpStatusCode.ServiceUnavailable, down.StatusCode);
        Assert.Equal("storage_unavailable", await TestApp.Code(down));
        Assert.True(down.Headers.RetryAfter is not null);
        Assert.DoesNotContain("   at ", await down.Content.ReadAsStringAsync());
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(15), $"took {sw.Elapsed}");
        Assert.Equal(HttpStatusCode.OK, (await app.Http.GetAsync("/api/openapi.json")).StatusCode); // the worker still answers

        var azurite = Repo.StartNode("azurite", $"--silent --inMemoryPersistence --skipApiVersionCheck --loose --blobPort {Repo.FreePort()} " +
            $"--queuePort {queue} --tablePort {table} --blobHost 127.0.0.1 --queueHost 127.0.0.1 --tableHost 127.0.0.1");
        try
        {
            await Repo.WaitForPortAsync(table, azurite, "Azurite");
            await Repo.WaitForPortAsync(queue, azurite, "Azurite");
            // An open port is not yet a serving Azurite (seen under load, with the browser tests
            // beside): recovery may take a moment, but must come without a restart.
            var up = await app.PostAsync("/api/signup", new { email, password = TestApp.Password });
            for (var wait = Stopwatch.StartNew(); up.StatusCode == HttpStatusCode.ServiceUnavailable && wait.Elapsed < TimeSpan.FromSeconds(10);)
            {
                await Task.Delay(250);
                up = await app.PostAsync("/api/signup", new { email, password = TestApp.Password });
            }
            Assert.Equal(HttpStatusCode.Accepted, up.StatusCode);
            var mail = (await app.Mail.WaitForAsync(email)).Single();
            Assert.Equal(HttpStatusCode.OK, (await app.PostAsync("/api/email/verify", new { token = mail.Token })).StatusCode);
        }
        finally
        {
            Repo.Kill(azurite);
        }
    }
}
