using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using AccountFunctions.LocalHost.Tests.Support;

namespace AccountFunctions.LocalHost.Tests;

public sealed class AdminTests(SharedHost fixture) : IClassFixture<SharedHost>
{
    private SampleHost Sample => fixture.Sample;

    private async Task<HttpResponseMessage> AdminPostAsync(string path, object body, string? key)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = JsonContent.Create(body) };
        if (key is not null) request.Headers.Add("x-functions-key", key);
        return await Sample.Http.SendAsync(request);
    }

    [Fact]
    public async Task AdminApiRunsTheQueueFunctionOnceWithTheInput()
    {
        var input = "admin " + Guid.NewGuid();
        using var response = await AdminPostAsync("/admin/functions/OnQueue", new { input }, Sample.Host.MasterKey);
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        await TestEnv.WaitUntilAsync(() => Sample.Records("OnQueue").Any(r => r.GetProperty("message").GetString() == input), TimeSpan.FromSeconds(20), "the admin run of OnQueue");
    }

    [Fact]
    public async Task AdminApiRunsTheTimerFunctionOnce()
    {
        var before = Sample.Records("OnTimer").Count;
        using var response = await AdminPostAsync("/admin/functions/OnTimer", new { input = "" }, Sample.Host.MasterKey);
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        await TestEnv.WaitUntilAsync(() => Sample.Records("OnTimer").Count > before, TimeSpan.FromSeconds(20), "the admin run of OnTimer");
        Assert.False(Sample.Records("OnTimer").Last().GetProperty("isPastDue").GetBoolean());
    }

    [Fact]
    public async Task AdminApiAnswers404ForAnUnknownFunctionAndChecksKeys()
    {
        using (var r = await AdminPostAsync("/admin/functions/Nope", new { input = "x" }, Sample.Host.MasterKey)) Assert.Equal(HttpStatusCode.NotFound, r.StatusCode);
        using (var r = await AdminPostAsync("/admin/functions/OnQueue", new { input = "x" }, null)) Assert.Equal(HttpStatusCode.Unauthorized, r.StatusCode);
        using (var r = await AdminPostAsync("/admin/functions/OnQueue", new { input = "x" }, Sample.Host.FunctionKey)) Assert.Equal(HttpStatusCode.Unauthorized, r.StatusCode);
        using (var r = await Sample.Http.GetAsync("/admin/host/status")) Assert.Equal(HttpStatusCode.Unauthorized, r.StatusCode);
    }

    [Fact]
    public async Task HostStatusReportsRunning()
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/admin/host/status");
        request.Headers.Add("x-functions-key", Sample.Host.MasterKey);
        using var response = await Sample.Http.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var status = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal("Running", status.GetProperty("state").GetString());
        Assert.StartsWith("4.", status.GetProperty("version").GetString());
        Assert.False(string.IsNullOrEmpty(status.GetProperty("id").GetString()));
    }
}

public sealed class TimerTests
{
    [Theory]
    [InlineData("*/1 * * * * *")] // 6 fields, with seconds
    [InlineData("00:00:01")]      // a TimeSpan
    public async Task TimerFiresOnItsSchedule(string schedule)
    {
        await using var sample = await SampleHost.StartAsync(schedule: schedule);
        await TestEnv.WaitUntilAsync(() => sample.Records("OnTimer").Count >= 2, TimeSpan.FromSeconds(15), "two timer runs");
        var runs = sample.Records("OnTimer");
        Assert.All(runs, r => Assert.False(string.IsNullOrEmpty(r.GetProperty("next").GetString())));
    }

    [Fact]
    public async Task ATimerRunThatWouldOverlapThePreviousOneIsSkipped()
    {
        // Every second, but each run takes 2.5 s: runs start at least 2.5 s apart, never two at once.
        await using var sample = await SampleHost.StartAsync(schedule: "*/1 * * * * *", settings: s => s["Sample_TimerDelayMs"] = "2500");
        await TestEnv.WaitUntilAsync(() => sample.Records("OnTimer").Count >= 3, TimeSpan.FromSeconds(20), "three timer runs");
        var starts = sample.Records("OnTimer").Select(r => DateTimeOffset.Parse(r.GetProperty("at").GetString()!, System.Globalization.CultureInfo.InvariantCulture)).ToList();
        for (int i = 1; i < starts.Count; i++)
            Assert.True(starts[i] - starts[i - 1] >= TimeSpan.FromMilliseconds(2400), $"run {i} started {(starts[i] - starts[i - 1]).TotalMilliseconds} ms after the previous one");
    }

    [Fact]
    public async Task ATimerWithRunOnStartupRunsOnceAtStart()
    {
        await using var sample = await SampleHost.StartAsync();
        await TestEnv.WaitUntilAsync(() => sample.Records("OnStartup").Count == 1, TimeSpan.FromSeconds(15), "the startup run");
        // The startup run has finished (the host logs its completion), and a queue message sent
        // after it has been handled: a second startup run would have come before that.
        await TestEnv.WaitUntilAsync(() => sample.Log.Contains("Executed 'Functions.OnStartup'"), TimeSpan.FromSeconds(15), "the startup run completed");
        await sample.MarkerProcessedAsync();
        Assert.Single(sample.Records("OnStartup"));
    }

    [Fact]
    public void SchedulesParseAsAzureReadsThem()
    {
        var from = new DateTime(2026, 12, 1, 10, 0, 0, DateTimeKind.Utc);
        Assert.Equal(from.AddMinutes(5), TimerSchedule.Parse("*/5 * * * *").GetNext(from));           // 5 fields
        Assert.Equal(from.AddSeconds(30), TimerSchedule.Parse("*/30 * * * * *").GetNext(from));       // 6 fields
        Assert.Equal(from.AddHours(1).AddMinutes(30), TimerSchedule.Parse("01:30:00").GetNext(from)); // TimeSpan
        Assert.Throws<FormatException>(() => TimerSchedule.Parse("every minute"));
    }

    [Fact]
    public void TheTimerPayloadHasTheShapeTimerInfoReads()
    {
        var json = JsonDocument.Parse(TimerListener.Payload(null, new DateTime(2026, 12, 1, 10, 0, 0, DateTimeKind.Utc), false)).RootElement;
        Assert.True(json.GetProperty("Schedule").GetProperty("AdjustForDST").GetBoolean());
        Assert.Equal("2026-12-01T10:00:00Z", json.GetProperty("ScheduleStatus").GetProperty("Next").GetString());
        Assert.True(json.GetProperty("ScheduleStatus").TryGetProperty("Last", out _));
        Assert.True(json.GetProperty("ScheduleStatus").TryGetProperty("LastUpdated", out _));
        Assert.False(json.GetProperty("IsPastDue").GetBoolean());
    }
}
