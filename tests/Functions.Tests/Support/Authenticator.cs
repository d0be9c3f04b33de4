using OtpNet;

namespace AccountFunctions.Functions.Tests.Support;

/// <summary>An authenticator app for tests: TOTP codes from a secret, on the app's fake clock.</summary>
public static class Authenticator
{
    public static string CodeNow(TestApp app, byte[] secret) => new Totp(secret).ComputeTotp(app.Clock!.GetUtcNow().UtcDateTime);

    /// <summary>A code of the next time step: what a person types half a minute later (a used step is a replay).</summary>
    public static string NextCode(TestApp app, byte[] secret)
    {
        app.Clock!.Advance(TimeSpan.FromSeconds(30));
        return CodeNow(app, secret);
    }

    /// <summary>Six digits that match no step within the drift window.</summary>
    public static string WrongCode(TestApp app, byte[] secret)
    {
        var now = app.Clock!.GetUtcNow().UtcDateTime;
        var valid = new[] { -30, 0, 30 }.Select(s => new Totp(secret).ComputeTotp(now.AddSeconds(s))).ToHashSet();
        var n = int.Parse(valid.First());
        string candidate;
        do candidate = (n = (n + 1) % 1_000_000).ToString("D6"); while (valid.Contains(candidate));
        return candidate;
    }
}
