set terminal pngcairo noenhanced size 1100,428 font 'Sans,12'
set output 'paired-differences.png'
set title 'Paired A - B, final test error (95% CI)'
set xlabel 'A - B, final test error (percentage points; below 0: A better)'
set grid xtics
set key below center horizontal
set datafile missing 'NaN'
set xrange [-19.38571702034722:1.2774755787926142]
set yrange [8.5:-0.5]
set ytics ('none - lr, batch 128, warmup-epochs 0.0' 0, 'none - lr, batch 1024, warmup-epochs 0.0' 1, 'none - lr, batch 4096, warmup-epochs 0.0' 2, 'wd - none, batch 128, warmup-epochs 0.0' 3, 'wd - none, batch 1024, warmup-epochs 0.0' 4, 'wd - none, batch 4096, warmup-epochs 0.0' 5, 'wd - lr, batch 128, warmup-epochs 0.0' 6, 'wd - lr, batch 1024, warmup-epochs 0.0' 7, 'wd - lr, batch 4096, warmup-epochs 0.0' 8)
set arrow 1 from 0, graph 0 to 0, graph 1 nohead dashtype 2 linecolor rgb '#555555'
plot 'paired-differences.dat' index 0 using 1:2:3 with xerrorbars linewidth 2 pointtype 7 pointsize 1.1 linecolor rgb '#d62728' title '95% CI excludes 0', \
     'paired-differences.dat' index 1 using 1:2:3 with xerrorbars linewidth 2 pointtype 7 pointsize 1.1 linecolor rgb '#1f77b4' title '95% CI contains 0'
set terminal svg noenhanced size 1100,428 dynamic font 'Sans,12'
set output 'paired-differences.svg'
replot
unset output
