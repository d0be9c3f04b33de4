using System.Text.RegularExpressions;

namespace AccountFunctions.Bench;

/// <summary>
/// Names a storage call by what it does, to which table or queue, and which kind of partition:
/// <c>point read accounts[{account}/session]</c>, <c>query identifiers[email-*]</c>,
/// <c>transaction (batch)</c>, <c>enqueue email-outbox</c>. Partition keys are reduced to their
/// shape (hashes, ids and dates become <c>*</c>), so the table shows whether a flow touches a
/// shared partition (a fixed key such as <c>role-admin</c> or <c>day-*</c>) or one per
/// account, address or token.
/// </summary>
public static partial class StorageOp
{
    public static string Label(string method, Uri uri, Azure.Core.RequestContent? content = null)
    {
        var path = Uri.UnescapeDataString(uri.AbsolutePath);
        var query = Uri.UnescapeDataString(uri.Query);
        // /devstoreaccount1/<resource>...
        var parts = path.Split('/', StringSplitOptions.RemoveEmptyEntries);
        var resource = parts.Length > 1 ? parts[1] : "";
        if (resource == "$batch")
        {
            // A multipart body: one "VERB url HTTP/1.1" line per entity.
            var batch = Body(content);
            var ops = BatchLine().Matches(batch).Select(m => m.Groups[1].Value).ToArray();
            if (ops.Length == 0) return "transaction (batch)";
            var first = Uri.UnescapeDataString(ops[0].Split('?')[0]);
            var t = first[(first.LastIndexOf('/') + 1)..];
            var batchTable = t.Contains('(') ? t[..t.IndexOf('(')] : t;
            var bpk = Key().Match(first) is { Success: true } bk ? bk.Groups[1].Value
                : BodyKey().Match(batch) is { Success: true } bb ? bb.Groups[1].Value : null;
            return $"transaction {batchTable}[{(bpk is null ? "?" : Shape(batchTable, bpk))}] x{ops.Length} entities";
        }
        if (resource == "Tables" || resource.StartsWith("Tables(", StringComparison.Ordinal)) return "create table";
        if (parts.Length > 2 && parts[2] == "messages")
        {
            return method switch
            {
                "POST" => $"enqueue {resource}",
                "GET" => $"dequeue {resource}",
                "DELETE" => $"delete message {resource}",
                "PUT" => $"update message {resource}",
                _ => $"{method} {resource}",
            };
        }
        var paren = resource.IndexOf('(');
        if (paren < 0 && method == "POST")
        {
            // An insert names its keys in the body.
            var body = Body(content);
            var ipk = BodyKey().Match(body) is { Success: true } ik ? ik.Groups[1].Value : null;
            var irk = BodyRow().Match(body) is { Success: true } ir ? ir.Groups[1].Value : null;
            return $"insert {resource}[{Shape(resource, ipk)}{(irk is null ? "" : "/" + RowShape(irk))}]";
        }
        if (paren < 0) return method == "PUT" ? $"create queue {resource}" : $"{method} {resource}";
        var table = resource[..paren];
        var pk = Key().Match(resource) is { Success: true } k ? k.Groups[1].Value : FilterKey().Match(query) is { Success: true } f ? f.Groups[1].Value : null;
        var rk = Row().Match(resource) is { Success: true } r ? r.Groups[1].Value : null;
        var where = $"{table}[{Shape(table, pk)}{(rk is null ? "" : "/" + RowShape(rk))}]";
        var kind = method switch
        {
            "GET" when rk is not null => "point read",
            "GET" => "query",
            "POST" => "insert",
            "PUT" => "replace/upsert",
            "MERGE" or "PATCH" => "merge",
            "DELETE" => "delete",
            _ => method,
        };
        return $"{kind} {where}";
    }

    private static string Shape(string table, string? pk)
    {
        if (pk is null) return "scan";
        if (table.EndsWith("accounts", StringComparison.Ordinal)) return "{account}";
        if (table.EndsWith("tokens", StringComparison.Ordinal) && !pk.StartsWith("code-", StringComparison.Ordinal) &&
            !pk.StartsWith("oidc-", StringComparison.Ordinal) && !pk.StartsWith("invite-", StringComparison.Ordinal)) return "{token}";
        var segments = pk.Split('-');
        var kept = segments.TakeWhile(s => s.Length < 16 && !s.All(char.IsDigit)).ToArray();
        return kept.Length == segments.Length ? pk : string.Join('-', kept) + "-*";
    }

    private static string RowShape(string rk)
    {
        var dash = rk.IndexOf('-');
        if (rk.StartsWith("~used", StringComparison.Ordinal)) return "~used-*";
        if (dash < 0) return rk.Length >= 16 || rk.All(char.IsDigit) ? "*" : rk;
        var head = rk[..dash];
        return head.Length >= 16 || head.All(char.IsDigit) ? "*" : head + "-*";
    }

    private static string Body(Azure.Core.RequestContent? content)
    {
        if (content is null) return "";
        using var stream = new MemoryStream();
        content.WriteTo(stream, CancellationToken.None);
        return System.Text.Encoding.UTF8.GetString(stream.ToArray());
    }

    [GeneratedRegex(@"^(?:POST|PUT|PATCH|MERGE|DELETE) (\S+) HTTP/1\.1", RegexOptions.Multiline)]
    private static partial Regex BatchLine();

    [GeneratedRegex(@"""PartitionKey""\s*:\s*""([^""]*)""")]
    private static partial Regex BodyKey();

    [GeneratedRegex(@"""RowKey""\s*:\s*""([^""]*)""")]
    private static partial Regex BodyRow();

    [GeneratedRegex(@"PartitionKey='([^']*)'")]
    private static partial Regex Key();

    [GeneratedRegex(@"PartitionKey eq '([^']*)'")]
    private static partial Regex FilterKey();

    [GeneratedRegex(@"RowKey='([^']*)'")]
    private static partial Regex Row();
}
