set terminal pngcairo noenhanced size 1100,650 font 'Sans,12'
set output 'curves-train-loss-batch-size=4096.png'
set title 'Training loss per epoch -- batch 4096 (mean over seeds, band: lowest to highest)'
set xlabel 'epoch'
set ylabel 'training loss (cross-entropy), log scale'
set grid
set key outside right top box
set datafile missing 'NaN'
set logscale y 10
set ytics ('0.6' 0.6, '0.7' 0.7, '0.8' 0.8, '0.9' 0.9, '1' 1, '2' 2, '3' 3)
set xtics 1
set xrange [0.75:6.25]
set yrange [0.5334161966849065:3.7612511779054003]
plot 'curves-train-loss-batch-size=4096.dat' index 0 using 1:3:4 with filledcurves fillstyle transparent solid 0.15 noborder linecolor rgb '#1f77b4' notitle, \
     'curves-train-loss-batch-size=4096.dat' index 0 using 1:2 with linespoints linewidth 2 pointtype 5 pointsize 0.8 linecolor rgb '#1f77b4' dashtype 1 title 'batch 4096'
set terminal svg noenhanced size 1100,650 dynamic font 'Sans,12'
set output 'curves-train-loss-batch-size=4096.svg'
replot
unset output
