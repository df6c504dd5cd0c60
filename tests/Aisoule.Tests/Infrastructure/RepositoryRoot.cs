namespace Aisoule.Tests.Infrastructure;

/// <summary>The checkout the tests run from, found by walking up to Aisoule.sln.</summary>
internal static class RepositoryRoot
{
    public static string Path { get; } = Find();

    private static string Find()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(System.IO.Path.Combine(dir.FullName, "Aisoule.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("Aisoule.sln not found above " + AppContext.BaseDirectory);
    }
}
