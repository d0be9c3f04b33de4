using AccountFunctions.Core.Text;
using MailKit.Net.Smtp;
using MailKit.Security;
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

public sealed class SmtpTransport(EmailOptions options) : IEmailTransport
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

        var smtp = options.Smtp;
        var security = smtp.Security switch
        {
            "StartTls" => SecureSocketOptions.StartTls,
            "SslOnConnect" => SecureSocketOptions.SslOnConnect,
            _ => SecureSocketOptions.None,
        };
        using var client = new SmtpClient();
        await client.ConnectAsync(smtp.Host, smtp.Port, security, ct);
        if (smtp.Username is { Length: > 0 }) await client.AuthenticateAsync(smtp.Username, smtp.Password ?? "", ct);
        await client.SendAsync(message, ct);
        await client.DisconnectAsync(true, ct);
    }
}
