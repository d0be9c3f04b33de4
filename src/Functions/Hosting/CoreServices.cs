using AccountFunctions.Core;
using AccountFunctions.Core.Approval;
using AccountFunctions.Core.Email;
using AccountFunctions.Core.Lockout;
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
        T Bind<T>(string section) where T : class, new()
        {
            var value = config.GetSection(section).Get<T>() ?? new T();
            services.AddSingleton(value);
            return value;
        }

        Bind<AccountsOptions>("Accounts");
        Bind<JwtOptions>("Jwt");
        Bind<SessionsOptions>("Sessions");
        Bind<SecurityOptions>("Security");
        Bind<LockoutOptions>("Lockout");
        Bind<RateLimitOptions>("RateLimits");
        Bind<MfaOptions>("Mfa");
        Bind<ClientIpOptions>("ClientIp");
        var storageOptions = Bind<StorageOptions>("Storage");
        if (config[StorageOptions.OutboxQueueSetting] is { Length: > 0 } queue) storageOptions.OutboxQueue = queue;
        var email = Bind<EmailOptions>("Email");
        var external = Bind<Core.External.ExternalOptions>("External");

        services.TryAddSingleton(TimeProvider.System);
        // AzureWebJobsStorage: a connection string, or the identity-based settings the host also reads (StorageConnection).
        services.AddAzureClientsCore();
        services.TryAddSingleton(sp => StorageConnection.CreateContext(config, storageOptions, sp.GetRequiredService<AzureComponentFactory>()));
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
        services.AddSingleton<Outbox>();
        services.AddSingleton<EmailSender>();
        services.AddSingleton<SessionService>();
        services.AddSingleton<SignupService>();
        services.AddSingleton<InviteService>();
        services.AddSingleton<VerificationService>();
        services.AddSingleton<LoginThrottle>();
        services.AddSingleton<LoginService>();
        services.AddSingleton<MagicLinkService>();
        services.AddSingleton<Core.Profile.ProfileService>();
        services.AddSingleton<AccountDeletion>();
        services.AddSingleton<Core.Accounts.AccountImport>();
        services.AddSingleton<LockoutSweeper>();
        services.AddSingleton<RecoveryService>();
        services.AddSingleton<ManageService>();
        services.AddSingleton<Core.EmailChange.EmailChangeService>();
        services.AddSingleton<TotpCodes>();
        services.AddSingleton<RecoveryCodes>();
        services.AddSingleton<MfaChallenges>();
        services.AddSingleton<MfaService>();
        services.AddSingleton(HostSettings.Load());
        // Discovery, keys and the token endpoint: one client, no redirects followed, short timeout.
        services.AddSingleton(_ => new Core.External.ExternalProviders(external, new HttpClient(
            new SocketsHttpHandler { AllowAutoRedirect = false, PooledConnectionLifetime = TimeSpan.FromMinutes(5) }) { Timeout = TimeSpan.FromSeconds(10) }));
        services.AddSingleton<Core.External.ExternalLoginService>();

        services.AddHttpClient(nameof(SendGridTransport));
        if (email.Transport.Equals("SendGrid", StringComparison.OrdinalIgnoreCase))
            services.AddSingleton<IEmailTransport>(sp =>
                new SendGridTransport(email, sp.GetRequiredService<IHttpClientFactory>().CreateClient(nameof(SendGridTransport))));
        else
        {
            // Resolved here, at start: a wrong mail setting stops the app with a message naming it,
            // rather than failing every email in the queue.
            var smtp = SmtpSettings.Resolve(email.Smtp);
            if (smtp.OAuth is { } oauth)
            {
                services.AddHttpClient(nameof(SmtpOAuthTokens), c => c.Timeout = TimeSpan.FromSeconds(30))
                    .ConfigurePrimaryHttpMessageHandler(() => new SocketsHttpHandler { AllowAutoRedirect = false });
                services.AddSingleton(sp => new SmtpOAuthTokens(oauth,
                    sp.GetRequiredService<IHttpClientFactory>().CreateClient(nameof(SmtpOAuthTokens)), sp.GetRequiredService<TimeProvider>(),
                    sp.GetRequiredService<ILogger<SmtpOAuthTokens>>(), sp.GetRequiredService<Core.Operations.AccountMetrics>()));
            }
            services.AddSingleton<IEmailTransport>(sp => new SmtpTransport(email, smtp, sp.GetService<SmtpOAuthTokens>(),
                sp.GetRequiredService<ILogger<SmtpTransport>>(), sp.GetRequiredService<Core.Operations.AccountMetrics>()));
        }

        return services;
    }
}
