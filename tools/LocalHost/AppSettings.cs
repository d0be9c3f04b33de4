using System.Collections;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace AccountFunctions.LocalHost;

/// <summary>The merged app settings: local.settings.json "Values", then the process environment,
/// then <see cref="LocalHostOptions.Settings"/> (each later source wins).</summary>
internal sealed partial class AppSettings
{
    private readonly Dictionary<string, string> _values;

    private AppSettings(Dictionary<string, string> values) => _values = values;

    public IReadOnlyDictionary<string, string> Values => _values;

    public static AppSettings Load(LocalHostOptions options)
    {
        // Setting names are case-insensitive in Azure (environment variables on Windows).
        var values = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        if (options.SettingsFile is { } file)
        {
            if (!File.Exists(file)) throw new FileNotFoundException($"Settings file not found: {file}", file);
            using var doc = JsonDocument.Parse(File.ReadAllText(file), new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
            if (doc.RootElement.TryGetProperty("Values", out var v) && v.ValueKind == JsonValueKind.Object)
            {
                foreach (var p in v.EnumerateObject())
                {
                    var text = p.Value.ValueKind == JsonValueKind.String ? p.Value.GetString()! : p.Value.GetRawText();
                    values[p.Name] = text;
                }
            }
        }
        foreach (DictionaryEntry e in Environment.GetEnvironmentVariables())
        {
            var key = (string)e.Key;
            values[key] = (string?)e.Value ?? "";
        }
        foreach (var (key, value) in options.Settings)
        {
            if (value is null) { values.Remove(key); continue; }
            values[key] = value;
        }
        return new AppSettings(values);
    }

    public string? Get(string name) => _values.TryGetValue(name, out var v) ? v : null;

    /// <summary>Replaces each <c>%name%</c> with the app setting; false (and the first missing
    /// name) when one does not resolve, as Azure's name resolver refuses it.</summary>
    public bool TryResolve(string? text, out string resolved, out string? missing)
    {
        missing = null;
        resolved = text ?? "";
        if (string.IsNullOrEmpty(text) || !text.Contains('%')) return true;
        string? firstMissing = null;
        resolved = SettingExpression().Replace(text, m =>
        {
            var name = m.Groups[1].Value;
            var value = Get(name);
            if (value is null) { firstMissing ??= name; return m.Value; }
            return value;
        });
        missing = firstMissing;
        return firstMissing is null;
    }

    [GeneratedRegex("%([^%]+)%")]
    private static partial Regex SettingExpression();
}
