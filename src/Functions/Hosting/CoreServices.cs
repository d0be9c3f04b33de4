using AccountFunctions.Core;
using AccountFunctions.Core.Approval;
using AccountFunctions.Core.Email;
using AccountFunctions.Core.Lockout;
using AccountFunctions.Core.Login;
using AccountFunctions.Core.Recovery;
using AccountFunctions.Core.Security;
using AccountFunctions.Core.Sessions;
using AccountFunctions.Core.Signup;
using AccountFunctions.Core.Storage;
using AccountFunctions.Core.Verification;
using AccountFunctions.Functions.Triggers;
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
        var storageOptions = Bind<StorageOptions>("Storage");
        var email = Bind<EmailOptions>("Email");
        var triggers = Bind<TriggerOptions>("Triggers");

        services.TryAddSingleton(TimeProvider.System);
        var connection = config["AzureWebJobsStorage"] is { Length: > 0 } c ? c : "UseDevelopmentStorage=true";
        services.TryAddSingleton(new StorageContext(connection, storageOptions));
        services.AddSingleton<TokenKeys>();
        services.AddSingleton<Core.Audit.AuditLog>();
        services.AddSingleton<OneTimeTokens>();
        services.AddSingleton<AccessTokens>();
        services.AddSingleton<PasswordHasher>();
        services.AddSingleton<RateLimiter>();
        services.AddSingleton<IdentifierIndex>();
        services.AddSingleton<Outbox>();
        services.AddSingleton<EmailSender>();
        services.AddSingleton<SessionService>();
        services.AddSingleton<SignupService>();
        services.AddSingleton<InviteService>();
        services.AddSingleton<VerificationService>();
        services.AddSingleton<LoginService>();
        services.AddSingleton<MagicLinkService>();
        services.AddSingleton<Core.Profile.ProfileService>();
        services.AddSingleton<AccountDeletion>();
        services.AddSingleton<LockoutSweeper>();
        services.AddSingleton<RecoveryService>();
        services.AddSingleton<ManageService>();
        services.AddSingleton<TriggerFunctions>();

        services.AddHttpClient(nameof(SendGridTransport));
        services.AddSingleton<IEmailTransport>(sp => email.Transport.Equals("SendGrid", StringComparison.OrdinalIgnoreCase)
            ? new SendGridTransport(email, sp.GetRequiredService<IHttpClientFactory>().CreateClient(nameof(SendGridTransport)))
            : new SmtpTransport(email));

        if (triggers.RunLocally) services.AddHostedService<LocalTriggers>();
        return services;
    }
}
