using Aisoule.Functions.Catalog;

namespace Aisoule.LocalHost;

/// <summary>What the server prints once it listens: where the API is and which functions it serves.</summary>
internal static class Banner
{
    public static void Print(WebApplication app, IEnumerable<string> login)
    {
        var baseAddress = app.ApiBaseAddress();
        var catalog = app.Services.GetRequiredService<FunctionCatalog>();
        Console.WriteLine();
        Console.WriteLine($"Aisoule API listening on {baseAddress.ToString().TrimEnd('/')}");
        Console.WriteLine();
        Console.WriteLine("Functions:");
        foreach (var function in catalog.HttpFunctions)
        {
            var methods = function.Http!.Methods.Count == 0 ? "any" : string.Join(',', function.Http.Methods);
            Console.WriteLine($"  {function.Name}: [{methods}] {baseAddress}{function.Http.Route}");
        }

        foreach (var function in catalog.QueueFunctions)
        {
            Console.WriteLine($"  {function.Name}: queueTrigger {function.QueueName}");
        }

        Console.WriteLine();
        foreach (var line in login)
        {
            Console.WriteLine(line);
        }

        Console.WriteLine($"Log in:  curl -s -c cookies.txt -H 'Content-Type: application/json' -d '{{\"email\":\"EMAIL\",\"password\":\"PASSWORD\"}}' {baseAddress}auth/login");
        Console.WriteLine();
        Console.WriteLine($"Try: curl -s {baseAddress}health");
        Console.WriteLine("Press Ctrl+C to stop.");
        Console.WriteLine();
    }
}
