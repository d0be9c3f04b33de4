using System.Text.Json;
using AccountFunctions.Core.Security;
using AccountFunctions.Functions.Hosting;
using AccountFunctions.Functions.Tests.Support;
using Microsoft.AspNetCore.Http;
using Microsoft.Azure.Functions.Worker;

namespace AccountFunctions.Functions.Tests;

/// <summary>
/// Every function with its trigger, authorization level and policies, decided here: a function
/// added, renamed or re-routed without a row in this table fails, and so does a policy changed
/// without changing the table.
/// </summary>
public sealed class FunctionPolicyTests
{
    // Name, "METHODS route" (or the trigger), authorization level, policies (what the worker resolved at start).
    private static readonly (string Name, string Trigger, string AuthLevel, string Policy)[] Expected =
    [
        ("Signup", "POST api/signup", "Anonymous", "limit Signup, floor"),
        ("SignupPasswordless", "POST api/signup/email", "Anonymous", "limit Signup, floor"),
        ("SignupAnonymous", "POST api/signup/anonymous", "Anonymous", "limit Signup"),
        ("VerifyEmail", "POST api/email/verify", "Anonymous", "limit CodeEntry"),
        ("ResendVerification", "POST api/email/resend", "Anonymous", "limit Resend, floor"),
        ("Login", "POST api/login", "Anonymous", "limit Login"),
        ("CompleteMfa", "POST api/login/mfa", "Anonymous", "limit CodeEntry"),
        ("LoginByEmail", "POST api/login/email", "Anonymous", "limit MagicLink, floor"),
        ("RedeemLoginEmail", "POST api/login/email/redeem", "Anonymous", "limit CodeEntry"),
        ("RefreshToken", "POST api/token/refresh", "Anonymous", "none"),
        ("Logout", "POST api/logout", "Anonymous", "none"),
        ("ListSessions", "GET api/me/sessions", "Anonymous", "caller"),
        ("EndSession", "DELETE api/me/sessions/{id}", "Anonymous", "caller"),
        ("Jwks", "GET api/.well-known/jwks.json", "Anonymous", "cache public, max-age=300"),
        ("ForgotPassword", "POST api/password/forgot", "Anonymous", "limit Forgot, floor"),
        ("ResetPassword", "POST api/password/reset", "Anonymous", "limit CodeEntry"),
        ("ChangePassword", "POST api/me/password", "Anonymous", "caller"),
        ("ChangeEmail", "POST api/me/email", "Anonymous", "caller"),
        ("RevertEmail", "POST api/email/revert", "Anonymous", "limit CodeEntry"),
        ("StartTotp", "POST api/me/mfa/totp", "Anonymous", "caller"),
        ("ConfirmTotp", "POST api/me/mfa/totp/confirm", "Anonymous", "caller"),
        ("DisableTotp", "DELETE api/me/mfa/totp", "Anonymous", "caller"),
        ("GetMe", "GET api/me", "Anonymous", "caller"),
        ("UpdateMe", "PATCH api/me", "Anonymous", "caller"),
        ("DeleteMe", "DELETE api/me", "Anonymous", "caller"),
        ("StartExternalLogin", "GET api/login/external/{provider}", "Anonymous", "none"),
        ("ExternalLoginCallback", "GET api/login/external/{provider}/callback", "Anonymous", "none"),
        ("ExchangeExternalLogin", "POST api/login/external/exchange", "Anonymous", "limit CodeEntry"),
        ("UnlinkExternalLogin", "DELETE api/me/external/{provider}", "Anonymous", "caller"),
        ("ListUsers", "GET api/manage/users", "Function", "admin"),
        ("ImportUser", "POST api/manage/users/import", "Function", "admin"),
        ("GetUser", "GET api/manage/users/{id}", "Function", "admin"),
        ("UpdateUser", "PATCH api/manage/users/{id}", "Function", "admin"),
        ("ApproveUser", "POST api/manage/users/{id}/approve", "Function", "admin"),
        ("RejectUser", "POST api/manage/users/{id}/reject", "Function", "admin"),
        ("LockUser", "POST api/manage/users/{id}/lock", "Function", "admin"),
        ("UnlockUser", "POST api/manage/users/{id}/unlock", "Function", "admin"),
        ("DeleteUser", "DELETE api/manage/users/{id}", "Function", "admin"),
        ("ListAudit", "GET api/manage/audit", "Function", "admin"),
        ("CreateInvite", "POST api/manage/invites", "Function", "admin"),
        ("Health", "GET api/health", "Anonymous", "none"),
        ("OpenApi", "GET api/openapi.json", "Anonymous", "cache public, max-age=300"),
        ("Pages", "GET account/{*rest}", "Anonymous", "cache no-cache"),
        ("ZzUnknownApiRoute", "GET,POST,PUT,PATCH,DELETE,OPTIONS api/{*rest}", "Anonymous", "none"),
        ("SendEmail", "queueTrigger %EmailOutboxQueue%", "", "none"),
        ("LockoutSweep", "timerTrigger %LockoutSweepSchedule%", "", "none"),
    ];

    private static string Render(FunctionPolicy p)
    {
        var parts = new List<string>();
        if (p.ClientLimit is { } group) parts.Add($"limit {group}");
        if (p.RequireAdmin) parts.Add("admin");
        else if (p.RequireCaller) parts.Add("caller");
        if (p.TimingFloor) parts.Add("floor");
        if (p.CacheControl is { } cache) parts.Add($"cache {cache}");
        return parts.Count == 0 ? "none" : string.Join(", ", parts);
    }

    /// <summary>What the build output declares to the host, one row per function.</summary>
    private static List<(string Name, string Trigger, string AuthLevel)> Declared()
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(TestApp.AppDirectory, "functions.metadata")));
        return doc.RootElement.EnumerateArray().Select(f =>
        {
            var trigger = f.GetProperty("bindings").EnumerateArray().Single(b => b.GetProperty("type").GetString()!.EndsWith("Trigger"));
            var type = trigger.GetProperty("type").GetString()!;
            string Text(string name) => trigger.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString()! : "";
            var text = type switch
            {
                "httpTrigger" => string.Join(",", trigger.GetProperty("methods").EnumerateArray().Select(m => m.GetString()!.ToUpperInvariant())) + " " + Text("route"),
                "queueTrigger" => $"{type} {Text("queueName")}",
                "timerTrigger" => $"{type} {Text("schedule")}",
                _ => type,
            };
            return (f.GetProperty("name").GetString()!, text, Text("authLevel"));
        }).ToList();
    }

    [Fact]
    public void EveryFunctionHasItsRouteMethodsAuthorizationLevelAndPoliciesDecidedInThisTable()
    {
        var policies = FunctionPolicies.Resolve(typeof(AccountFunctionsApp).Assembly);
        var declared = Declared();

        var actual = declared.Select(d => (d.Name, d.Trigger, d.AuthLevel,
            policies.All.TryGetValue(d.Name, out var p) ? Render(p) : "NOT RESOLVED")).OrderBy(r => r.Name, StringComparer.Ordinal).ToList();
        var expected = Expected.OrderBy(r => r.Name, StringComparer.Ordinal).ToList();
        Assert.Equal(expected.Select(r => r.ToString()), actual.Select(r => r.ToString()));
        // And the start resolved exactly the functions the host is told about.
        Assert.Equal(declared.Select(d => d.Name).Order(StringComparer.Ordinal), policies.All.Keys.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void ALimitGroupThatDoesNotExistStopsTheStart()
    {
        var e = Assert.Throws<InvalidOperationException>(() => FunctionPolicies.Resolve([typeof(UnknownGroup)]));
        Assert.Contains("'Limited'", e.Message);
        Assert.Contains("client-limit group 99, which does not exist", e.Message);
    }

    [Fact]
    public void APolicyOnAMethodThatIsNoHttpFunctionStopsTheStart()
    {
        var e = Assert.Throws<InvalidOperationException>(() => FunctionPolicies.Resolve([typeof(PolicyOffTheEdge)]));
        Assert.Contains("Helper declares a policy but is not a [Function]", e.Message);
        Assert.Contains("Function 'Queue'", e.Message);
        Assert.Contains("has no HTTP trigger", e.Message);
    }

    [Fact]
    public void ACacheableAnswerThatNeedsACallerStopsTheStart()
    {
        var e = Assert.Throws<InvalidOperationException>(() => FunctionPolicies.Resolve([typeof(CachedPrivately)]));
        Assert.Contains("Function 'Mine'", e.Message);
        Assert.Contains("is [Cacheable] but needs a caller", e.Message);
        Assert.Contains("Function 'Nothing' (", e.Message);
        Assert.Contains("is [Cacheable] without a caching directive", e.Message);
    }

    [Fact]
    public void AFunctionTheStartDidNotResolveIsRefusedNotLetThrough()
    {
        var policies = FunctionPolicies.Resolve(typeof(AccountFunctionsApp).Assembly);
        Assert.Throws<InvalidOperationException>(() => policies.For("NoSuchFunction"));
    }

    private sealed class CachedPrivately
    {
        [Function("Mine"), RequireCaller, Cacheable("private, max-age=60")]
        public void Mine([HttpTrigger(AuthorizationLevel.Anonymous, "get")] HttpRequest req) { }

        [Function("Nothing"), Cacheable("no-store")]
        public void Nothing([HttpTrigger(AuthorizationLevel.Anonymous, "get")] HttpRequest req) { }
    }

    private sealed class UnknownGroup
    {
        [Function("Limited"), ClientLimit((ClientLimitGroup)99)]
        public void Limited([HttpTrigger(AuthorizationLevel.Anonymous, "post")] HttpRequest req) { }
    }

    private sealed class PolicyOffTheEdge
    {
        [RequireCaller]
        public void Helper() { }

        [Function("Queue"), TimingFloor]
        public void Queue([QueueTrigger("q")] string message) { }
    }
}
