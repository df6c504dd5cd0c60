using System.Globalization;
using System.Reflection;
using Aisoule.Functions.Catalog;
using Azure.Storage.Queues.Models;

namespace Aisoule.LocalHost;

/// <summary>
/// Calls a function method the way the Functions worker does: a fresh instance from DI per invocation, the
/// trigger value, route values by parameter name, and the cancellation token.
/// </summary>
internal static class FunctionInvoker
{
    private static readonly Type[] QueueTriggerTypes = [typeof(string), typeof(BinaryData), typeof(byte[]), typeof(QueueMessage)];
    private static readonly Type[] RouteValueTypes = [typeof(string), typeof(int), typeof(long), typeof(Guid), typeof(bool)];

    /// <summary>Refuses, at start-up, a function whose parameters the local host could not bind like the worker does.</summary>
    public static void Validate(FunctionDescriptor function)
    {
        var returns = function.Method.ReturnType;
        if (function.Http is not null && !typeof(Microsoft.AspNetCore.Http.IResult).IsAssignableFrom(UnwrapTask(returns)))
        {
            throw Unsupported(function, $"HTTP functions return IResult or Task<IResult>, not {returns.Name}");
        }

        foreach (var parameter in function.Method.GetParameters())
        {
            var type = Nullable.GetUnderlyingType(parameter.ParameterType) ?? parameter.ParameterType;
            var bindable = function.IsTrigger(parameter)
                ? function.Http is not null ? type == typeof(Microsoft.AspNetCore.Http.HttpRequest)
                    : function.Schedule is not null ? type == typeof(Microsoft.Azure.Functions.Worker.TimerInfo)
                    : QueueTriggerTypes.Contains(type)
                : type == typeof(CancellationToken) || (function.Http is not null && RouteValueTypes.Contains(type) && RouteHas(function.Http.Route, parameter.Name!));
            if (!bindable)
            {
                throw Unsupported(function, $"parameter '{parameter.Name}' of type {parameter.ParameterType.Name} cannot be bound");
            }
        }
    }

    public static Task<object?> InvokeAsync(FunctionDescriptor function, IServiceProvider services, Func<ParameterInfo, object?> bind)
    {
        var instance = function.Method.IsStatic ? null : ActivatorUtilities.CreateInstance(services, function.Type);
        var arguments = function.Method.GetParameters().Select(bind).ToArray();
        var returned = function.Method.Invoke(instance, BindingFlags.DoNotWrapExceptions, null, arguments, CultureInfo.InvariantCulture);
        return AwaitAsync(returned);
    }

    public static object? RouteValue(ParameterInfo parameter, object? raw)
    {
        var type = Nullable.GetUnderlyingType(parameter.ParameterType) ?? parameter.ParameterType;
        return raw switch
        {
            null => null,
            _ when type == typeof(string) => raw.ToString(),
            _ when type == typeof(Guid) => Guid.Parse(raw.ToString()!, CultureInfo.InvariantCulture),
            _ => Convert.ChangeType(raw.ToString(), type, CultureInfo.InvariantCulture),
        };
    }

    public static object QueueTriggerValue(Type parameterType, QueueMessage message) => parameterType switch
    {
        _ when parameterType == typeof(string) => message.Body.ToString(),
        _ when parameterType == typeof(byte[]) => message.Body.ToArray(),
        _ when parameterType == typeof(BinaryData) => message.Body,
        _ => message,
    };

    private static async Task<object?> AwaitAsync(object? returned)
    {
        if (returned is not Task task)
        {
            return returned;
        }

        await task.ConfigureAwait(false);
        return task.GetType().IsGenericType ? task.GetType().GetProperty(nameof(Task<object>.Result))!.GetValue(task) : null;
    }

    private static Type UnwrapTask(Type type) =>
        type.IsGenericType && type.GetGenericTypeDefinition() == typeof(Task<>) ? type.GetGenericArguments()[0] : type;

    private static bool RouteHas(string route, string name) =>
        route.Contains("{" + name, StringComparison.OrdinalIgnoreCase) || route.Contains("{*" + name, StringComparison.OrdinalIgnoreCase);

    private static NotSupportedException Unsupported(FunctionDescriptor function, string why) =>
        new($"Function {function.Name}: {why}. The local host binds what the Functions worker binds for HTTP and queue triggers.");
}
