using AccountFunctions.Core.Text;
using MailKit.Net.Smtp;
using MailKit.Security;
using Microsoft.Extensions.Logging;
using MimeKit;
using SendGrid;
using SendGrid.Helpers.Mail;

namespace AccountFunctions.Core.Email;

public sealed record OutgoingEmail(string MessageId, string To, string? ToName, RenderedEmail Content)
{
    /// <summary>
    /// The header values on one line (To name, subject), whatever was stored: the transports build
    /// headers from these only. An empty name is no name.
    /// </summary>
    public OutgoingEmail Clean() => this with
    {
        To = EmailText.SingleLine(To)!,
        ToName = EmailText.SingleLine(ToName) is { Length: > 0 } name ? name : null,
        Content = Content with { Subject = EmailText.SingleLine(Content.Subject)! },
    };
}

/// <summary>Where emails leave the system: SendGrid in Azure, SMTP anywhere else.</summary>
public interface IEmailTransport
{
    Task SendAsync(OutgoingEmail email, CancellationToken ct);
}

public sealed class EmailTransportException(string message) : Exception(message);

public sealed class SendGridTransport : IEmailTransport
{
    private readonly SendGridClient _client;
    private readonly EmailOptions _options;

    public SendGridTransport(EmailOptions options, HttpClient http)
    {
        _options = options;
        var clientOptions = new SendGridClientOptions { ApiKey = options.SendGrid.ApiKey ?? "" };
        if (options.SendGrid.Host is { Length: > 0 } host) clientOptions.Host = host;
        _client = new SendGridClient(http, clientOptions);
    }

    public async Task SendAsync(OutgoingEmail email, CancellationToken ct)
    {
        email = email.Clean();
        var message = MailHelper.CreateSingleEmail(
            new SendGrid.Helpers.Mail.EmailAddress(_options.From, EmailText.SingleLine(_options.FromName)), new SendGrid.Helpers.Mail.EmailAddress(email.To, email.ToName),
            email.Content.Subject, email.Content.Text, email.Content.Html);
        // Carries the outbox id, so a message delivered twice can be recognised downstream.
        message.AddCustomArg("outbox_id", email.MessageId);
        message.SetClickTracking(false, false);
        var response = await _client.SendEmailAsync(message, ct);
        if (!response.IsSuccessStatusCode)
            throw new EmailTransportException($"SendGrid answered {(int)response.StatusCode}.");
    }
}

/// <summary>
/// SMTP with MailKit: no login, a username and password, or XOAUTH2 with an access token from
/// <see cref="SmtpOAuthTokens"/> (Gmail, Microsoft 365).
/// </summary>
public sealed class SmtpTransport(EmailOptions options, SmtpSettings smtp, SmtpOAuthTokens? tokens = null,
    ILogger<SmtpTransport>? log = null, Operations.AccountMetrics? metrics = null) : IEmailTransport
{
    public async Task SendAsync(OutgoingEmail email, CancellationToken ct)
    {
        email = email.Clean();
        var message = new MimeMessage();
        message.From.Add(new MailboxAddress(EmailText.SingleLine(options.FromName), options.From));
        message.To.Add(new MailboxAddress(email.ToName ?? "", email.To));
        message.Subject = email.Content.Subject;
        // The outbox id doubles as the Message-Id: a retried send is recognisably the same message.
        message.MessageId = $"{email.MessageId}@account-functions";
        message.Body = new BodyBuilder { TextBody = email.Content.Text, HtmlBody = email.Content.Html }.ToMessageBody();

        // The token before the connection: when the provider refuses the refresh token, no
        // connection is opened for nothing.
        var oauth = smtp.Auth == SmtpAuth.OAuth2
            ? tokens ?? throw new InvalidOperationException("Email__Smtp__Auth=OAuth2 without a token source.")
            : null;
        var token = oauth is null ? null : await oauth.GetAsync(ct);

        using var client = new SmtpClient();
        await client.ConnectAsync(smtp.Host, smtp.Port, smtp.Security, ct);
        if (smtp.Auth == SmtpAuth.Password)
            await client.AuthenticateAsync(smtp.Username!, smtp.Password ?? "", ct);
        else if (oauth is not null)
        {
            try
            {
                await client.AuthenticateAsync(new SaslMechanismOAuth2(smtp.Username!, token!), ct);
            }
            catch (AuthenticationException)
            {
                // 535: the server no longer takes a token we thought valid (revoked, or it expired
                // early). One refresh and one more try on the same connection; a second refusal fails
                // the send, and the queue retries it later.
                metrics?.SmtpOAuth("token_rejected");
                log?.LogWarning("SMTP OAuth: {Host} refused the access token; refreshing it once and trying again", smtp.Host);
                oauth.Reject(token!);
                token = await oauth.GetAsync(ct);
                try
                {
                    await client.AuthenticateAsync(new SaslMechanismOAuth2(smtp.Username!, token!), ct);
                }
                catch (AuthenticationException e)
                {
                    oauth.Reject(token);
                    throw new SmtpOAuthException(SmtpOAuthException.AccessTokenRefused,
                        $"{smtp.Host} refused a freshly refreshed access token for the mailbox: check the token's scope and that SMTP AUTH is enabled for the mailbox.", e);
                }
            }
        }
        await client.SendAsync(message, ct);
        await client.DisconnectAsync(true, ct);
    }
}
