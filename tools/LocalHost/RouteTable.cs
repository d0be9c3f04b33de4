using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Routing.Template;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace AccountFunctions.LocalHost;

/// <summary>HTTP routes of the loaded functions, most specific first (ordered by ASP.NET Core's
/// inbound route precedence, as the tree router Azure's host uses orders them).</summary>
internal sealed class RouteTable
{
    private readonly List<Entry> _entries;

    private RouteTable(List<Entry> entries) => _entries = entries;

    public IReadOnlyList<string> Templates => _entries.Select(e => e.Text).ToList();

    public static RouteTable Build(IEnumerable<HostFunction> functions, string prefix, ILogger logger)
    {
        var entries = new List<Entry>();
        foreach (var f in functions.Where(f => f.IsHttp))
        {
            var trigger = f.Trigger!;
            var route = (string.IsNullOrEmpty(trigger.Route) ? f.Name : trigger.Route).Trim('/');
            var text = prefix.Length > 0 ? (route.Length > 0 ? prefix + "/" + route : prefix) : route;
            var template = TemplateParser.Parse(text);
            var defaults = new RouteValueDictionary();
            foreach (var p in template.Parameters)
                if (p.DefaultValue is not null) defaults[p.Name!] = p.DefaultValue;
            entries.Add(new Entry(f, text, template, new TemplateMatcher(template, defaults), RoutePrecedence.ComputeInbound(template),
                trigger.Methods.Count == 0 ? null : new HashSet<string>(trigger.Methods, StringComparer.OrdinalIgnoreCase)));
            logger.LogInformation("Mapped function route '{Route}' [{Methods}] to '{Function}'", text, trigger.Methods.Count == 0 ? "all" : string.Join(',', trigger.Methods), f.Name);
        }
        entries.Sort((a, b) =>
        {
            int c = a.Precedence.CompareTo(b.Precedence);
            return c != 0 ? c : string.Compare(a.Text, b.Text, StringComparison.OrdinalIgnoreCase);
        });
        return new RouteTable(entries);
    }

    public Match? Find(HttpContext context, IInlineConstraintResolver constraints)
    {
        var path = context.Request.Path;
        foreach (var e in _entries)
        {
            if (e.Methods is not null && !e.Methods.Contains(context.Request.Method)) continue;
            var values = new RouteValueDictionary();
            if (!e.Matcher.TryMatch(path, values)) continue;
            if (!ConstraintsMatch(e, values, context, constraints)) continue;
            // Optional parameters that got no value are present with null, as Azure's host adds them.
            foreach (var p in e.Template.Parameters)
                if (p.IsOptional && !values.ContainsKey(p.Name!)) values[p.Name!] = null;
            return new Match(e.Function, values, e.Text);
        }
        return null;
    }

    private static bool ConstraintsMatch(Entry e, RouteValueDictionary values, HttpContext context, IInlineConstraintResolver resolver)
    {
        foreach (var p in e.Template.Parameters)
        {
            if (!p.InlineConstraints.Any()) continue;
            if (!values.TryGetValue(p.Name!, out var v) || v is null || (v is string s && s.Length == 0)) continue;
            foreach (var ic in p.InlineConstraints)
            {
                var constraint = resolver.ResolveConstraint(ic.Constraint)
                    ?? throw new InvalidOperationException($"Unknown route constraint '{ic.Constraint}' in '{e.Text}'.");
                if (!constraint.Match(context, null, p.Name!, values, RouteDirection.IncomingRequest)) return false;
            }
        }
        return true;
    }

    public static IInlineConstraintResolver CreateResolver(IServiceProvider services) =>
        new DefaultInlineConstraintResolver(Options.Create(new RouteOptions()), services);

    private sealed record Entry(HostFunction Function, string Text, RouteTemplate Template, TemplateMatcher Matcher, decimal Precedence, HashSet<string>? Methods);

    public sealed record Match(HostFunction Function, RouteValueDictionary Values, string Template);
}
