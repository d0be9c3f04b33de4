using System.Collections;
using System.ComponentModel.DataAnnotations;
using System.Reflection;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Options;

namespace AccountFunctions.Functions.Hosting;

/// <summary>One options class bound from the settings section <see cref="Name"/> (registered by <see cref="Settings.Bind{T}"/>).</summary>
public sealed record SettingsSection(string Name, Type Options);

/// <summary>
/// Options bound from settings and checked when the host starts: a value that cannot be read, or
/// breaks a rule, stops the app with the setting's name (as an app setting, <c>__</c>-separated),
/// never its value. Rules: a property's validation attributes (Core/SettingRules.cs, DataAnnotations),
/// else by type: a TimeSpan must be positive, an int at least 1.
/// </summary>
public static partial class Settings
{
    public static OptionsBuilder<T> Bind<T>(this IServiceCollection services, IConfiguration config, string section,
        Func<T, IEnumerable<string>>? check = null) where T : class, new()
    {
        services.AddSingleton(new SettingsSection(section, typeof(T)));
        services.AddSingleton<IValidateOptions<T>>(new Validator<T>(section, check));
        // Core takes the options class itself, not IOptions<T>.
        services.AddSingleton(sp => sp.GetRequiredService<IOptions<T>>().Value);
        return services.AddOptions<T>().Configure(o => Read(config, section, o)).ValidateOnStart();
    }

    private static void Read(IConfiguration config, string section, object target)
    {
        try { config.GetSection(section).Bind(target); }
        catch (InvalidOperationException e) when (BinderFailure().Match(e.Message) is { Success: true } m)
        {
            var type = m.Groups["type"].Value;
            var expected = type switch
            {
                "System.TimeSpan" => "a time span (d.hh:mm:ss)",
                "System.Int32" or "System.Int64" => "a whole number",
                "System.Boolean" => "true or false",
                _ => type,
            };
            // Not the binder's exception as the inner one: its message holds the value.
            throw new InvalidOperationException($"{Name(m.Groups["path"].Value)} must be {expected}.");
        }
    }

    // The binder's message: "Failed to convert configuration value '…' at 'Jwt:AccessTokenLifetime' to type 'System.TimeSpan'."
    [GeneratedRegex("^Failed to convert configuration value .*at '(?<path>[^']+)' to type '(?<type>[^']+)'\\.?$", RegexOptions.Singleline)]
    private static partial Regex BinderFailure();

    private static string Name(string path) => path.Replace(":", "__");

    private sealed class Validator<T>(string section, Func<T, IEnumerable<string>>? check) : IValidateOptions<T> where T : class
    {
        public ValidateOptionsResult Validate(string? name, T options)
        {
            var failures = Check(section, options).ToList();
            // Checks that build on the simple ones (SMTP presets, providers) run once those pass.
            if (failures.Count == 0 && check is not null) failures.AddRange(check(options));
            return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
        }
    }

    /// <summary>Every rule broken in <paramref name="options"/>, as messages naming the setting.</summary>
    public static IEnumerable<string> Check(string prefix, object options)
    {
        foreach (var p in Properties(options.GetType()))
        {
            var name = $"{prefix}__{p.Name}";
            var value = p.GetValue(options);
            if (IsOptionsClass(p.PropertyType))
            {
                if (value is not null)
                    foreach (var f in Check(name, value)) yield return f;
                continue;
            }
            if (DictionaryValueType(p.PropertyType) is { } valueType && IsOptionsClass(valueType))
            {
                if (value is IDictionary entries)
                    foreach (DictionaryEntry e in entries)
                        if (e.Value is not null)
                            foreach (var f in Check($"{name}__{e.Key}", e.Value)) yield return f;
                continue;
            }
            var rules = p.GetCustomAttributes<ValidationAttribute>().ToList();
            if (rules.Count > 0)
            {
                foreach (var rule in rules)
                    if (!rule.IsValid(value)) yield return rule.FormatErrorMessage(name);
            }
            else if (value is TimeSpan t && t <= TimeSpan.Zero) yield return $"{name} must be a positive time span (d.hh:mm:ss).";
            else if (value is int i && i < 1) yield return $"{name} must be at least 1.";
        }
    }

    /// <summary>
    /// Every setting an options class reads, relative to its section: nested classes add their
    /// property name, a dictionary of them <c>&lt;name&gt;</c>.
    /// </summary>
    public static IEnumerable<string> Names(Type options, string prefix)
    {
        foreach (var p in Properties(options))
        {
            var name = $"{prefix}__{p.Name}";
            if (IsOptionsClass(p.PropertyType))
                foreach (var n in Names(p.PropertyType, name)) yield return n;
            else if (DictionaryValueType(p.PropertyType) is { } valueType && IsOptionsClass(valueType))
                foreach (var n in Names(valueType, $"{name}__<name>")) yield return n;
            else yield return name;
        }
    }

    private static IEnumerable<PropertyInfo> Properties(Type type) =>
        type.GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .Where(p => p.SetMethod is { IsPublic: true } && p.GetIndexParameters().Length == 0);

    private static bool IsOptionsClass(Type type) =>
        type.IsClass && type != typeof(string) && type.Namespace?.StartsWith("AccountFunctions.", StringComparison.Ordinal) == true;

    private static Type? DictionaryValueType(Type type) =>
        type.IsGenericType && type.GetGenericTypeDefinition() == typeof(Dictionary<,>) && type.GetGenericArguments()[0] == typeof(string)
            ? type.GetGenericArguments()[1] : null;
}
