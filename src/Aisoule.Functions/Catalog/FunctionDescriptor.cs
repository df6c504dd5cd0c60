using System.Reflection;
using Aisoule.Functions.Pipeline;

namespace Aisoule.Functions.Catalog;

/// <summary>One function as its attributes declare it: name, method, and its trigger.</summary>
public sealed record FunctionDescriptor(string Name, MethodInfo Method, ParameterInfo TriggerParameter)
{
    public Type Type => Method.DeclaringType!;

    /// <summary>What the function declared it needs; null if it declared nothing (and is then refused).</summary>
    public AccessAttribute? Access => Method.GetCustomAttribute<AccessAttribute>();

    /// <summary>By position: reflection may hand out different ParameterInfo objects for the same parameter.</summary>
    public bool IsTrigger(ParameterInfo parameter) => parameter?.Position == TriggerParameter.Position;

    /// <summary>Set for HTTP-triggered functions.</summary>
    public HttpEndpoint? Http { get; init; }

    /// <summary>Set for queue-triggered functions; may hold <c>%Setting%</c> expressions, as in the Functions host.</summary>
    public string? QueueName { get; init; }

    /// <summary>Set for timer-triggered functions: an NCRONTAB schedule, possibly a <c>%Setting%</c> expression.</summary>
    public string? Schedule { get; init; }
}

/// <summary>An HTTP trigger's route (without the <c>api/</c> prefix) and methods (upper case; empty means any).</summary>
public sealed record HttpEndpoint(string Route, IReadOnlyList<string> Methods)
{
    public bool Allows(string method) => Methods.Count == 0 || Methods.Contains(method, StringComparer.OrdinalIgnoreCase);
}
