using AccountFunctions.Core.Security;
using AccountFunctions.Core.Storage;
using Microsoft.Extensions.Logging;

namespace AccountFunctions.Core.Email;

/// <summary>
/// The SendEmail function: loads the outbox row, skips it if already sent, takes a short lease
/// (ETag) so a duplicate delivery of the queue message cannot send in parallel, renders, sends,
/// marks it sent. Any failure is thrown so the queue retries, and finally poisons the message.
/// </summary>
public sealed class EmailSender(AccountsTable accountRows, DueTable due, Outbox outbox, OneTimeTokens tokens, IEmailTransport transport,
    AccountsOptions accounts, EmailOptions email, TimeProvider time, ILogger<EmailSender> log, Operations.AccountMetrics? metrics = null)
{
    public static readonly TimeSpan Lease = TimeSpan.FromMinutes(2);

    public async Task<string> SendAsync(OutboxMessage message, CancellationToken ct)
    {
        var row = await accountRows.GetRowAsync<OutboxRow>(message.AccountId, OutboxRow.Prefix + message.MessageId, ct);
        if (row is null)
        {
            log.LogInformation("Outbox message {MessageId} no longer exists (account deleted); nothing to send", message.MessageId);
            return "gone";
        }
        if (row.Status == OutboxStatus.Sent) return "already_sent";
        if (row.CreatedAt + email.MaxMessageAge < time.GetUtcNow())
        {
            // Whatever link it carries has expired; sending it now would only confuse.
            log.LogWarning("Outbox message {MessageId} is too old to send; dropped", row.MessageId);
            return "expired";
        }
        var now = time.GetUtcNow();
        if (row.Status == OutboxStatus.Sending && row.LeaseUntil > now)
            throw new InvalidOperationException($"Outbox message {message.MessageId} is being sent by another invocation.");

        row.Status = OutboxStatus.Sending;
        row.LeaseUntil = now + Lease;
        row.Attempts++;
        if (!await accountRows.TryReplaceRowAsync(row, ct))
            throw new InvalidOperationException($"Outbox message {message.MessageId} changed while taking the lease.");

        RenderedEmail content;
        try
        {
            content = await RenderAsync(row);
            await transport.SendAsync(new OutgoingEmail(row.MessageId, row.To, row.ToName, content).Clean(), ct);
        }
        catch (Exception e)
        {
            metrics?.EmailFailed();
            row.Status = OutboxStatus.Pending;
            row.LeaseUntil = null;
            row.LastError = e.GetType().Name + ": " + e.Message[..Math.Min(e.Message.Length, 200)];
            await accountRows.TryReplaceRowAsync(row, CancellationToken.None);
            throw;
        }

        row.Status = OutboxStatus.Sent;
        row.SentAt = time.GetUtcNow();
        row.LeaseUntil = null;
        row.LastError = null;
        if (!await accountRows.TryReplaceRowAsync(row, ct))
            log.LogWarning("Outbox message {MessageId} was sent but could not be marked sent", row.MessageId);
        var marker = outbox.ReplayRow(row);
        await due.RemoveAsync(marker, ct);
        metrics?.EmailSent();
        log.LogInformation("Sent {Template} email {MessageId} to {To}", row.Template, row.MessageId, EmailAddress.Mask(row.To));
        return "sent";
    }

    private async Task<RenderedEmail> RenderAsync(OutboxRow row)
    {
        string? link = null, code = null;
        if (EmailTemplates.PageFor(row.Template) is { } page)
            link = row.TokenId is null
                ? $"{accounts.BaseUrl}/account/{page}"
                : $"{accounts.BaseUrl}/account/{page}?token={Uri.EscapeDataString(await tokens.MaterializeAsync(row.TokenId))}";
        if (row.CodeNonce is not null) code = await tokens.CodeAsync(row.CodeNonce);
        return EmailTemplates.Render(row.Template, new EmailModel(EmailTemplates.ParseModel(row.ModelJson), link, code));
    }
}
