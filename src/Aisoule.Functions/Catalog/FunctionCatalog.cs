using System.Reflection;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Routing.Template;
using Microsoft.Azure.Functions.Worker;

namespace Aisoule.Functions.Catalog;

/// <summary>
/// Every function, read from its own <c>[Function]</c> and trigger attributes — the same source the Functions
/// SDK reads to write <c>functions.metadata</c>. Nothing is registered twice: a new function is found here.
/// </summary>
public sealed class FunctionCatalog
{
    private readonly Dictionary<string, FunctionDescriptor> _byName;
    private readonly List<(FunctionDescriptor Function, TemplateMatcher Matcher)> _routes;

    private FunctionCatalog(IEnumerable<FunctionDescriptor> functions)
    {
        Functions = [.. functions.OrderBy(f => f.Name, StringComparer.OrdinalIgnoreCase)];
        _byName = Functions.ToDictionary(f => f.Name, StringComparer.OrdinalIgnoreCase);
        _routes = [.. Functions.Where(f => f.Http is not null)
            .Select(f => (f, new TemplateMatcher(TemplateParser.Parse(f.Http!.Route), [])))];
    }

    public IReadOnlyList<FunctionDescriptor> Functions { get; }

    public IEnumerable<FunctionDescriptor> HttpFunctions => Functions.Where(f => f.Http is not null);

    public IEnumerable<FunctionDescriptor> QueueFunctions => Functions.Where(f => f.QueueName is not null);

    public IEnumerable<FunctionDescriptor> TimerFunctions => Functions.Where(f => f.Schedule is not null);

    public static FunctionCatalog Create(params Assembly[] assemblies) =>
        new(assemblies.Distinct().SelectMany(a => a.GetTypes()).SelectMany(Describe));

    public FunctionDescriptor Get(string name) =>
        _byName.TryGetValue(name, out var function) ? function : throw new KeyNotFoundException($"No function named {name}.");

    /// <summary>The methods that some function other than the catch-all accepts at this path (below the prefix).</summary>
    public IReadOnlyList<string> MethodsAt(string path)
    {
        var methods = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var (function, matcher) in _routes)
        {
            if (function.Http!.Route.StartsWith("{*", StringComparison.Ordinal) || !matcher.TryMatch(new PathString(path), []))
            {
                continue;
            }

            methods.UnionWith(function.Http.Methods.Count == 0 ? ["GET", "POST", "PUT", "DELETE"] : function.Http.Methods);
        }

        return [.. methods];
    }

    private static IEnumerable<FunctionDescriptor> Describe(Type type)
    {
        foreach (var method in type.GetMethods(BindingFlags.Public | BindingFlags.Instance | BindingFlags.Static))
        {
            if (method.GetCustomAttribute<FunctionAttribute>() is not { } function)
            {
                continue;
            }

            foreach (var parameter in method.GetParameters())
            {
                if (parameter.GetCustomAttribute<HttpTriggerAttribute>() is { } http)
                {
                    var methods = (http.Methods ?? []).Select(m => m.ToUpperInvariant()).ToArray();
                    yield return new FunctionDescriptor(function.Name, method, parameter)
                    {
                        Http = new HttpEndpoint(http.Route ?? function.Name, methods),
                    };
                }
                else if (parameter.GetCustomAttribute<QueueTriggerAttribute>() is { } queue)
                {
                    yield return new FunctionDescriptor(function.Name, method, parameter) { QueueName = queue.QueueName };
                }
                else if (parameter.GetCustomAttribute<TimerTriggerAttribute>() is { } timer)
                {
                    yield return new FunctionDescriptor(function.Name, method, parameter) { Schedule = timer.Schedule };
                }
            }
        }
    }
}
