using AccountFunctions.Core;
using AccountFunctions.Core.Manage;
using AccountFunctions.Core.Email;
using AccountFunctions.Core.Login;
using AccountFunctions.Core.Mfa;
using AccountFunctions.Core.Recovery;
using AccountFunctions.Core.Security;
using AccountFunctions.Core.Sessions;
using AccountFunctions.Core.Signup;
using AccountFunctions.Core.Storage;
using AccountFunctions.Core.Verification;
using Microsoft.Extensions.Azure;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace AccountFunctions.Functions.Hosting;

public static class CoreServices
{
    /// <summary>Every Core service, configured from settings (environment variables, <c>__</c> as separator).</summary>
    public static IServiceCollection AddCore(this IServiceCollection services, IConfiguration config)
    {
        services.Bind<AccountsOptions>(config, "Accounts");
        services.Bind<JwtOptions>(config, "Jwt");
        services.Bind<SessionsOptions>(config, "Sessions");
        services.Bind<SecurityOptions>(config, "Security");
        services.Bind<LoginThrottleOptions>(config, "Lockout"); // the section's name before the rename: deployed settings keep working
        services.Bind<ClientLimitOptions>(config, "RateLimits"); // the per-IP limits of ClientLimiter; the section keeps its deployed name
        services.Bind<MfaOptions>(config, "Mfa");
        services.Bind<ClientIpOptions>(config, "ClientIp");
        services.Bind<StorageOptions>(config, "Storage")
            .Configure(o => { if (config[StorageOptions.OutboxQueueSetting] is { Length: > 0 } queue) o.OutboxQueue = queue; });
        // Resolved at start: a wrong mail or provider setting stops the app with a message naming it,
        // rather than failing every email in the queue or every external sign-in.
        services.Bind<EmailOptions>(config, "Email", o => o.Transport.Equals("Smtp", StringComparison.OrdinalIgnoreCase)
            ? Failure(() => SmtpSettings.Resolve(o.Smtp)) : []);
        services.Bind<Core.External.ExternalOptions>(config, "External", o => Failure(() => new Core.External.ExternalProviders(o, NoHttp)));

        services.TryAddSingleton(TimeProvider.System);
        // AzureWebJobsStorage: a connection string, or the identity-based settings the host also reads (StorageConnection).
        services.AddAzureClientsCore();
        services.TryAddSingleton(sp => StorageConnection.CreateContext(config, sp.GetRequiredService<StorageOptions>(), sp.GetRequiredService<AzureComponentFactory>()));
        services.AddHostedService<StorageStartup>();
        services.AddMetrics();
        services.AddSingleton<Core.Operations.AccountMetrics>();
        services.AddSingleton<TokenKeys>();
        services.AddSingleton<Core.Audit.AuditLog>();
        services.AddSingleton<OneTimeTokens>();
        services.AddSingleton<AccessTokens>();
        services.AddSingleton<PasswordHasher>();
        services.AddSingleton<RateLimiter>();
        services.AddSingleton<ClientLimiter>();
        services.AddSingleton<IdentifierIndex>();
        services.AddSingleton<AccountsTable>();
        services.AddSingleton<DueTable>();
        services.AddSingleton<TokensTable>();
        services.AddSingleton<LimitsTable>();
        services.AddSingleton<KeysTable>();
        services.AddSingleton<AuditTable>();
        services.AddSingleton<Outbox>();
        services.AddSingleton<GrantMail>();
        services.AddSingleton<EmailSender>();
        services.AddSingleton<SessionService>();
        services.AddSingleton<EmailOwners>();
        services.AddSingleton<AdminNotices>();
        services.AddSingleton<SignInCompletion>();
        services.AddSingleton<SignupService>();
        services.AddSingleton<InviteService>();
        services.AddSingleton<VerificationService>();
        services.AddSingleton<LoginThrottle>();
        services.AddSingleton<LoginService>();
        services.AddSingleton<MagicLinkService>();
        services.AddSingleton<Core.Profile.ProfileService>();
        services.AddSingleton<AccountDeletion>();
        services.AddSingleton<Core.Accounts.AccountImport>();
        services.AddSingleton<Core.Sweep.DueSweep>();
        services.AddSingleton<RecoveryService>();
        services.AddSingleton<ManageService>();
        services.AddSingleton<Core.EmailChange.EmailChangeService>();
        services.AddSingleton<TotpCodes>();
        services.AddSingleton<RecoveryCodes>();
        services.AddSingleton<MfaChallengeIssuer>();
        services.AddSingleton<IMfaChallengeIssuer>(sp => sp.GetRequiredService<MfaChallengeIssuer>());
        services.AddSingleton<MfaChallenges>();
        services.AddSingleton<MfaService>();
        services.AddSingleton(HostSettings.Load());
        // Discovery, keys and the token endpoint: one client, no redirects followed, short timeout.
        services.AddSingleton(sp => new Core.External.ExternalProviders(sp.GetRequiredService<Core.External.ExternalOptions>(), new HttpClient(
            new SocketsHttpHandler { AllowAutoRedirect = false, PooledConnectionLifetime = TimeSpan.FromMinutes(5) }) { Timeout = TimeSpan.FromSeconds(10) }));
        services.AddSingleton<Core.External.ExternalLoginService>();

        services.AddHttpClient(nameof(SendGridTransport));
        services.AddHttpClient(nameof(SmtpOAuthTokens), c => c.Timeout = TimeSpan.FromSeconds(30))
            .ConfigurePrimaryHttpMessageHandler(() => new SocketsHttpHandler { AllowAutoRedirect = false });
        services.AddSingleton<IEmailTransport>(sp =>
        {
            var email = sp.GetRequiredService<EmailOptions>();
            if (email.Transport.Equals("SendGrid", StringComparison.OrdinalIgnoreCase))
                return new SendGridTransport(email, sp.GetRequiredService<IHttpClientFactory>().CreateClient(nameof(SendGridTransport)));
            var smtp = SmtpSettings.Resolve(email.Smtp);
            var metrics = sp.GetRequiredService<Core.Operations.AccountMetrics>();
            var tokens = smtp.OAuth is { } oauth
                ? new SmtpOAuthTokens(oauth, sp.GetRequiredService<IHttpClientFactory>().CreateClient(nameof(SmtpOAuthTokens)),
                    sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<ILogger<SmtpOAuthTokens>>(), metrics)
                : null;
            return new SmtpTransport(email, smtp, tokens, sp.GetRequiredService<ILogger<SmtpTransport>>(), metrics);
        });

        return services;
    }

    // Only for checking provider settings at start: nothing is fetched with it.
    private static readonly HttpClient NoHttp = new();

    private static IEnumerable<string> Failure(Action resolve)
    {
        try { resolve(); }
        catch (InvalidOperationException e) { return [e.Message]; }
        return [];
    }
}
